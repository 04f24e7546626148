// One object per recommendation session: serialises its calls and keeps its history in SQLite.
import { DurableObject } from 'cloudflare:workers';
import { InferenceError, badRequest, notFound } from '../runtime/errors';
import { outcome, type Outcome } from '../runtime/outcome';
import { dataPlane, flushAfter } from '../serving';
import { rank, type Preferences } from './recommender';
import { expireIfIdle } from './idle-expiry';
import { SerialQueue } from './serial-queue';
import { indexStub } from './session-index-object';
import { releasePlace } from '../consumers/limits';
import type { Answer, EventRow, Feedback, Rating, RecommendedItem, SessionRow, SessionStart, SessionSummary, Step } from './session-types';
import { storedRow } from './stored-row';

/** Bounds one session's history so a client cannot grow an object without limit. */
const MAX_EVENTS = 10_000;
/** Every rated and seen id goes into each call's graph inputs: a session holds at most this many of each. */
export const MAX_RATINGS = 200;
export const MAX_SEEN = 500;
const iso = (ms: number) => new Date(ms).toISOString();

export class SessionObject extends DurableObject<Env> {
  readonly #queue = new SerialQueue();
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
  }

  start(start: SessionStart): Promise<Outcome<SessionSummary>> {
    return this.#serial(async () => {
      if (this.#row()) throw new InferenceError(409, `session '${start.id}' already exists`);
      // Context ratings go through the graph once: it tells which items it knows.
      const { known } = await this.#rank(start, { ratings: start.ratings, rejected: [], excluded: start.exclude }, 1);
      const unknown = start.ratings.filter((_, i) => !known[i]).map((r) => r.item_id);
      if (unknown.length) throw badRequest(`context.ratings: unknown item_id ${unknown.slice(0, 10).join(', ')}`);
      const now = Date.now();
      this.#sql.exec(`
        CREATE TABLE session (id TEXT NOT NULL, consumer TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
          created_at INTEGER NOT NULL, last_active INTEGER NOT NULL, idle_timeout INTEGER NOT NULL);
        CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, step INTEGER NOT NULL, at INTEGER NOT NULL,
          action TEXT NOT NULL, item_id INTEGER, title TEXT, score REAL, rating REAL);`);
      this.#sql.exec(
        'INSERT INTO session (id, consumer, model, version, created_at, last_active, idle_timeout) VALUES (?, ?, ?, ?, ?, ?, ?)',
        start.id,
        start.consumer,
        start.model,
        start.version,
        now,
        now,
        start.idleTimeoutSeconds,
      );
      this.#record(0, now, 'start', null, null);
      for (const r of start.ratings) this.#record(0, now, 'rate', r.item_id, null, r.rating);
      for (const item of start.exclude) this.#record(0, now, 'exclude', item, null);
      await this.ctx.storage.setAlarm(now + start.idleTimeoutSeconds * 1000);
      return this.#summary(false);
    });
  }

  summary(): Promise<Outcome<SessionSummary>> {
    return this.#serial(async () => this.#summary(true));
  }

  /** The best k items never shown, rated or rejected here; `tryAgain` first rejects the last answer. */
  recommend(k: number, tryAgain: boolean): Promise<Outcome<Answer>> {
    return this.#serial(async () => {
      const session = this.#touch();
      const step = this.#nextStep();
      const now = Date.now();
      if (tryAgain) {
        const last = this.#lastAnswer();
        if (!last.length) throw badRequest('nothing to try again: ask for a recommendation first');
        for (const item of last) if (!this.#decided(item)) this.#record(step, now, 'reject', item, null);
      }
      const seen = this.#seen();
      if (seen.length + k > MAX_SEEN) {
        throw new InferenceError(409, `this session has seen ${seen.length} items, the most one session holds is ${MAX_SEEN}; start a new session`);
      }
      const { items } = await this.#rank(session, { ratings: this.#ratings(), rejected: this.#rejected(), excluded: seen }, k);
      for (const item of items) this.#record(step, now, tryAgain ? 'try_again' : 'recommend', item.item_id, item);
      return { id: session.id, model_name: session.model, model_version: session.version, step, items };
    });
  }

  feedback(feedback: Feedback): Promise<Outcome<{ step: number; recorded: Feedback }>> {
    return this.#serial(async () => {
      const session = this.#touch();
      const step = this.#nextStep();
      if (feedback.action === 'rate') {
        const ratings = this.#ratings();
        if (ratings.length >= MAX_RATINGS && !ratings.some((r) => r.item_id === feedback.item_id)) {
          throw new InferenceError(409, `this session holds ${MAX_RATINGS} ratings, the most one session folds in; start a new session`);
        }
        // A rated item is also one the graph excludes: it counts against the items a session may have seen.
        const seen = this.#seen();
        if (seen.length >= MAX_SEEN && !seen.includes(feedback.item_id)) {
          throw new InferenceError(409, `this session has seen ${seen.length} items, the most one session holds is ${MAX_SEEN}; start a new session`);
        }
        const { known } = await this.#rank(session, { ratings: [{ item_id: feedback.item_id, rating: feedback.rating }], rejected: [], excluded: [] }, 1);
        if (!known[0]) throw badRequest(`item_id ${feedback.item_id} is not an item of model '${session.model}'`);
        this.#record(step, Date.now(), 'rate', feedback.item_id, null, feedback.rating);
      } else {
        if (!this.#shown(feedback.item_id)) throw badRequest(`item_id ${feedback.item_id} was not recommended in this session`);
        this.#record(step, Date.now(), feedback.action, feedback.item_id, null);
      }
      return { step, recorded: feedback };
    });
  }

  /** Ends the session, leaving no storage behind. */
  end(): Promise<Outcome<{ id: string }>> {
    return this.#serial(async () => {
      const session = this.#require();
      await this.#erase();
      return { id: session.id };
    });
  }

  override async alarm(): Promise<void> {
    await this.#queue.run(() => expireIfIdle(this.ctx.storage, this.#row(), () => this.#erase()));
  }

  #serial<T>(work: () => Promise<T>): Promise<Outcome<T>> {
    return flushAfter(this.ctx, this.env, this.#queue.run(() => outcome(work)));
  }

  /** Tables exist only while the session does: ending it deletes all storage. */
  #row(): SessionRow | undefined {
    return storedRow<SessionRow>(this.#sql, 'session');
  }

  #require(): SessionRow {
    const row = this.#row();
    if (!row) throw notFound('session not found: it never existed, was deleted, or expired after being idle');
    return row;
  }

  #touch(): SessionRow {
    const row = this.#require();
    const count = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n;
    if (count >= MAX_EVENTS) throw new InferenceError(409, `session history is full (${MAX_EVENTS} events); start a new session`);
    const now = Date.now();
    this.#sql.exec('UPDATE session SET last_active = ?', now);
    void this.ctx.storage.setAlarm(now + row.idle_timeout * 1000);
    return { ...row, last_active: now };
  }

  async #erase(): Promise<void> {
    const row = this.#row();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    if (row) {
      await indexStub(this.env, row.consumer).remove(row.id);
      await releasePlace(this.env, row.consumer, 'session', row.id);
    }
  }

  /** Ranks on the version the session pinned when it started. */
  #rank(session: { model: string; version: string }, preferences: Preferences, k: number) {
    return rank(dataPlane(this.env), { name: session.model, version: session.version }, preferences, k);
  }

  #record(step: number, at: number, action: Step['action'], itemId: number | null, item: RecommendedItem | null, rating: number | null = null): void {
    this.#sql.exec(
      'INSERT INTO events (step, at, action, item_id, title, score, rating) VALUES (?, ?, ?, ?, ?, ?, ?)',
      step,
      at,
      action,
      itemId,
      item?.title ?? null,
      item?.score ?? null,
      rating,
    );
  }

  #nextStep(): number {
    return (this.#sql.exec<{ s: number | null }>('SELECT MAX(step) AS s FROM events').one().s ?? 0) + 1;
  }

  /** Latest rating per item. */
  #ratings(): Rating[] {
    return this.#sql
      .exec<{ item_id: number; rating: number }>(
        "SELECT item_id, rating FROM events WHERE seq IN (SELECT MAX(seq) FROM events WHERE action = 'rate' GROUP BY item_id)",
      )
      .toArray();
  }

  /** Items rejected here, one by one or by "try again". */
  #rejected(): number[] {
    return this.#sql.exec<{ item_id: number }>("SELECT DISTINCT item_id FROM events WHERE action = 'reject'").toArray().map((r) => r.item_id);
  }

  /** Every item this session has shown, rated, accepted, rejected or was told to exclude. */
  #seen(): number[] {
    return this.#sql.exec<{ item_id: number }>('SELECT DISTINCT item_id FROM events WHERE item_id IS NOT NULL').toArray().map((r) => r.item_id);
  }

  #lastAnswer(): number[] {
    return this.#sql
      .exec<{ item_id: number }>(
        "SELECT item_id FROM events WHERE step = (SELECT MAX(step) FROM events WHERE action IN ('recommend', 'try_again')) AND action IN ('recommend', 'try_again')",
      )
      .toArray()
      .map((r) => r.item_id);
  }

  #shown(item: number): boolean {
    return this.#sql.exec("SELECT 1 FROM events WHERE item_id = ? AND action IN ('recommend', 'try_again')", item).toArray().length > 0;
  }

  #decided(item: number): boolean {
    return this.#sql.exec("SELECT 1 FROM events WHERE item_id = ? AND action IN ('accept', 'reject')", item).toArray().length > 0;
  }

  #summary(touch: boolean): SessionSummary {
    const row = touch ? this.#touch() : this.#require();
    const events = this.#sql.exec<EventRow>('SELECT step, at, action, item_id, title, score, rating FROM events ORDER BY seq').toArray();
    const history: Step[] = [];
    for (const e of events) {
      const last = history.at(-1);
      if ((e.action === 'recommend' || e.action === 'try_again') && last?.step === e.step && last.action === e.action) {
        last.items!.push({ item_id: e.item_id!, title: e.title!, score: e.score! });
        continue;
      }
      const step: Step = { step: e.step, at: iso(e.at), action: e.action };
      if (e.action === 'recommend' || e.action === 'try_again') step.items = [{ item_id: e.item_id!, title: e.title!, score: e.score! }];
      else if (e.item_id !== null) step.item_id = e.item_id;
      if (e.rating !== null) step.rating = e.rating;
      history.push(step);
    }
    return {
      id: row.id,
      model: row.model,
      model_version: row.version,
      created_at: iso(row.created_at),
      last_active_at: iso(row.last_active),
      expires_at: iso(row.last_active + row.idle_timeout * 1000),
      ratings: this.#ratings().length,
      shown: events.filter((e) => e.action === 'recommend' || e.action === 'try_again').length,
      history,
    };
  }
}

/** A session's object is named by its owner and id: another consumer's name reaches an empty object, so a 404. */
export const sessionStub = (env: Env, consumer: string, id: string) => env.SESSIONS.get(env.SESSIONS.idFromName(`${consumer}/${id}`));
