// One object per batch job: its plan, its chunks' progress counted exactly once, and its finalisation.
import { DurableObject } from 'cloudflare:workers';
import { InferenceError, notFound } from '../runtime/errors';
import { outcome, type Outcome } from '../runtime/outcome';
import { inputFiles, type ChunkMessage, type ChunkRow, type ChunkWork, type JobRow, type JobSpec, type JobState, type JobStatus } from './job-types';
import { planRanges } from './planner';
import { releasePlace } from '../consumers/limits';

const TERMINAL: JobState[] = ['succeeded', 'failed', 'cancelled'];
const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
export const outputPrefix = (consumer: string, id: string) => `results/${consumer}/${id}/`;
/** Newest first: the key sorts by the time left until 2^43 ms (year 2248), then the id. */
export const listingKey = (consumer: string, createdAt: number, id: string) => `jobs/${consumer}/${String(2 ** 43 - createdAt).padStart(14, '0')}-${id}`;
/** A chunk's results (`.csv` when the job writes CSV) or errors (always JSON Lines). */
export const partKey = (prefix: string, kind: 'part' | 'errors', chunk: number, output: 'jsonl' | 'csv' = 'jsonl') =>
  `${prefix}${kind}-${String(chunk).padStart(5, '0')}.${kind === 'part' ? output : 'jsonl'}`;

export class JobObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS job (spec TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER);
      CREATE TABLE IF NOT EXISTS chunks (idx INTEGER PRIMARY KEY, file INTEGER NOT NULL DEFAULT 0, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        lines INTEGER, first_line INTEGER, done INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
        last_error TEXT);`);
    // Jobs stored before files existed: their chunks all belong to the one input file.
    if (!this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('chunks')").toArray().some((c) => c.name === 'file')) {
      this.#sql.exec('ALTER TABLE chunks ADD COLUMN file INTEGER NOT NULL DEFAULT 0');
    }
  }

  /** Plans the job and queues its chunks; creating an existing job returns it as it is. */
  async create(spec: JobSpec, failure?: string): Promise<JobStatus> {
    if (this.#job()) return this.#status();
    const files = inputFiles(spec);
    const ranges = files.flatMap((f, file) => planRanges(f.size, spec.chunkBytes).map((r) => ({ ...r, file })));
    const now = Date.now();
    this.#sql.exec('INSERT INTO job (spec, state, created_at) VALUES (?, ?, ?)', JSON.stringify(spec), 'queued', now);
    ranges.forEach((r, i) => this.#sql.exec('INSERT INTO chunks (idx, file, start, "end") VALUES (?, ?, ?, ?)', i, r.file, r.start, r.end));
    // The consumer's job list is the listing of these markers, newest first.
    await this.env.BATCH.put(listingKey(spec.consumer, now, spec.id), '');
    if (failure) {
      await this.#end('failed', failure);
    } else if (ranges.length === 0) {
      await this.#finalise();
    } else if (new Set(ranges.map((r) => r.file)).size === ranges.length) {
      // One chunk per file starts at its line 1: there is nothing to count.
      this.#sql.exec('UPDATE chunks SET lines = 0, first_line = 1');
      await this.#send(ranges.map((_, i) => ({ job: this.#name(spec), chunk: i, phase: 'score' })));
    } else {
      await this.#send(ranges.map((_, i) => ({ job: this.#name(spec), chunk: i, phase: 'count' })));
    }
    return this.#status();
  }

  status(): Promise<Outcome<JobStatus>> {
    return outcome(async () => this.#status());
  }

  #status(): JobStatus {
    const job = this.#require();
    const spec = JSON.parse(job.spec) as JobSpec;
    const totals = this.#sql
      .exec<{ total: number; done: number; ok: number; failed: number; counted: number; lines: number; scoring: number; retrying: number }>(
        `SELECT COUNT(*) AS total, COALESCE(SUM(done), 0) AS done, COALESCE(SUM(ok), 0) AS ok, COALESCE(SUM(failed), 0) AS failed,
           COUNT(lines) AS counted, COALESCE(SUM(lines), 0) AS lines,
           COALESCE(SUM(done = 0 AND first_line IS NOT NULL), 0) AS scoring, COALESCE(SUM(done = 0 AND last_error IS NOT NULL), 0) AS retrying
         FROM chunks`,
      )
      .one();
    const done = totals.ok + totals.failed;
    // Line counts include each CSV header; a job of one chunk per file is never counted, so it knows its total when it is done.
    const files = inputFiles(spec);
    const counted = totals.total > files.length && totals.counted === totals.total;
    const total = job.state === 'succeeded' ? done : counted ? totals.lines - files.filter((f) => f.format === 'csv').length : undefined;
    const seconds = job.started_at === null ? 0 : ((job.finished_at ?? Date.now()) - job.started_at) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    return {
      id: spec.id,
      url: `/v2/batches/${spec.id}`,
      state: job.state,
      ...(job.reason !== null && { reason: job.reason }),
      model: spec.model,
      model_version: spec.version,
      input: spec.inputKey,
      ...(spec.files && { files: spec.files.length }),
      format: spec.format,
      gzip: spec.gzip,
      options: {
        id_column: spec.idColumn ?? 'id',
        ...(spec.carry && { carry: spec.carry }),
        output_format: spec.output ?? 'jsonl',
        ...(spec.classification && { classification: spec.classification }),
      },
      records: { ok: totals.ok, failed: totals.failed, done, ...(total !== undefined && { total }) },
      chunks: {
        done: totals.done,
        total: totals.total,
        chunk_bytes: spec.chunkBytes,
        states: { counting: totals.total - totals.done - totals.scoring, scoring: totals.scoring, done: totals.done, retrying: totals.retrying },
      },
      progress: job.state === 'succeeded' ? 100 : totals.total ? Math.floor((100 * totals.done) / totals.total) : 0,
      rows_per_second: Math.round(rate * 10) / 10,
      ...(job.state === 'running' && total !== undefined && rate > 0 && { eta_seconds: Math.round(Math.max(0, total - done) / rate) }),
      output: outputPrefix(spec.consumer, spec.id),
      created_at: iso(job.created_at)!,
      ...(job.started_at !== null && { started_at: iso(job.started_at) }),
      ...(job.finished_at !== null && { finished_at: iso(job.finished_at) }),
    };
  }

  /** The chunks whose results are counted, in input order: what /output and /errors stream (all of them once succeeded). */
  doneChunks(): Promise<Outcome<{ state: JobState; chunks: number[]; output: 'jsonl' | 'csv'; csvHeader?: string[] }>> {
    return outcome(async () => {
      const job = this.#require();
      const spec = JSON.parse(job.spec) as JobSpec;
      const chunks = this.#sql.exec<{ idx: number }>('SELECT idx FROM chunks WHERE done = 1 ORDER BY idx').toArray().map((r) => r.idx);
      return { state: job.state, chunks, output: spec.output ?? 'jsonl', ...(spec.csvHeader && { csvHeader: spec.csvHeader }) };
    });
  }

  /** The work of one chunk pass, or null when there is none left (done, or the job is over). */
  work(message: ChunkMessage): ChunkWork | null {
    const job = this.#job();
    if (!job || TERMINAL.includes(job.state)) return null;
    const chunk = this.#chunk(message.chunk);
    if (!chunk || chunk.done || (message.phase === 'count' && chunk.lines !== null) || (message.phase === 'score' && chunk.first_line === null)) return null;
    if (job.started_at === null) this.#sql.exec("UPDATE job SET started_at = ?, state = 'running'", Date.now());
    const spec = JSON.parse(job.spec) as JobSpec;
    const file = inputFiles(spec)[chunk.file]!;
    return { spec, file, start: chunk.start, end: chunk.end, firstLine: chunk.first_line ?? 0, outputPrefix: outputPrefix(spec.consumer, spec.id) };
  }

  /** A chunk's line count, recorded once; when all are known, line numbers are fixed and scoring starts. */
  async counted(chunk: number, lines: number): Promise<void> {
    const job = this.#job();
    if (!job || TERMINAL.includes(job.state)) return;
    this.#sql.exec('UPDATE chunks SET lines = ? WHERE idx = ? AND lines IS NULL', lines, chunk);
    const rows = this.#sql.exec<ChunkRow>('SELECT * FROM chunks ORDER BY idx').toArray();
    if (rows.some((r) => r.lines === null) || rows.some((r) => r.first_line !== null)) return;
    // Line numbers count from 1 in each file.
    let line = 1;
    rows.forEach((row, i) => {
      if (i > 0 && row.file !== rows[i - 1]!.file) line = 1;
      this.#sql.exec('UPDATE chunks SET first_line = ? WHERE idx = ?', line, row.idx);
      line += row.lines!;
    });
    const spec = JSON.parse(job.spec) as JobSpec;
    await this.#send(rows.map((r) => ({ job: this.#name(spec), chunk: r.idx, phase: 'score' })));
  }

  /** A chunk's results, counted exactly once however often the chunk is delivered. */
  async scored(chunk: number, ok: number, failed: number): Promise<void> {
    const job = this.#job();
    if (!job || TERMINAL.includes(job.state)) return;
    this.#sql.exec('UPDATE chunks SET done = 1, ok = ?, failed = ? WHERE idx = ? AND done = 0', ok, failed, chunk);
    const left = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM chunks WHERE done = 0').one().n;
    if (left === 0) await this.#finalise();
  }

  /** Fails the job (a chunk that cannot be done, or an input that is not what it claims); what was scored stays readable. */
  async fail(reason: string): Promise<void> {
    const job = this.#job();
    if (job && !TERMINAL.includes(job.state)) await this.#end('failed', reason);
  }

  /** Remembers why a chunk attempt threw, for the reason given if it ends in the dead-letter queue. */
  attemptFailed(chunk: number, error: string): void {
    this.#sql.exec('UPDATE chunks SET last_error = ? WHERE idx = ?', error.slice(0, 500), chunk);
  }

  /** Called for a dead-lettered chunk: the job fails with the chunk's last error. */
  async deadLettered(chunk: number): Promise<void> {
    const error = this.#chunk(chunk)?.last_error;
    await this.fail(`chunk ${chunk} failed after all retries${error ? `: ${error}` : ''}`);
  }

  /** Stops the job: chunks not yet done find it over and do no work. */
  cancel(): Promise<Outcome<JobStatus>> {
    return outcome(async () => {
      const job = this.#require();
      if (TERMINAL.includes(job.state)) throw new InferenceError(409, `job is already ${job.state}`);
      await this.#end('cancelled', 'cancelled by its owner');
      return this.#status();
    });
  }

  async #finalise(): Promise<void> {
    await this.#end('succeeded', null);
  }

  /** Ends the job and writes its manifest; a failed or cancelled job's lists only the chunks that were scored, marked partial. */
  async #end(state: JobState, reason: string | null): Promise<void> {
    const job = this.#require();
    const spec = JSON.parse(job.spec) as JobSpec;
    const chunks = this.#sql.exec<ChunkRow>('SELECT * FROM chunks WHERE done = 1 ORDER BY idx').toArray();
    const total = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM chunks').one().n;
    const prefix = outputPrefix(spec.consumer, spec.id);
    const finished = Date.now();
    this.#finish(state, reason, finished);
    await releasePlace(this.env, spec.consumer, 'job', spec.id);
    const manifest = {
      job: spec.id,
      state,
      ...(reason !== null && { reason }),
      partial: state !== 'succeeded',
      model: spec.model,
      model_version: spec.version,
      input: spec.inputKey,
      ...(spec.files && { files: spec.files.map((f) => f.key) }),
      format: spec.format,
      gzip: spec.gzip,
      records: { ok: chunks.reduce((n, c) => n + c.ok, 0), failed: chunks.reduce((n, c) => n + c.failed, 0) },
      chunks: { done: chunks.length, total },
      chunk_bytes: spec.chunkBytes,
      created_at: iso(job.created_at),
      started_at: iso(job.started_at ?? job.created_at),
      finished_at: iso(finished),
      duration_ms: finished - (job.started_at ?? job.created_at),
      output_format: spec.output ?? 'jsonl',
      ...(spec.csvHeader && { csv_header: spec.csvHeader }),
      parts: chunks.map((c) => partKey(prefix, 'part', c.idx, spec.output)),
      errors: chunks.map((c) => partKey(prefix, 'errors', c.idx)),
    };
    await this.env.BATCH.put(`${prefix}manifest.json`, JSON.stringify(manifest, null, 2), { httpMetadata: { contentType: 'application/json' } });
  }

  #finish(state: JobState, reason: string | null, at = Date.now()): void {
    this.#sql.exec('UPDATE job SET state = ?, reason = ?, finished_at = ?', state, reason, at);
  }

  async #send(messages: ChunkMessage[]): Promise<void> {
    // sendBatch takes at most 100 messages.
    for (let i = 0; i < messages.length; i += 100) {
      await this.env.BATCH_CHUNKS.sendBatch(messages.slice(i, i + 100).map((body) => ({ body })));
    }
  }

  #name(spec: JobSpec): string {
    return jobName(spec.consumer, spec.id);
  }

  #job(): JobRow | undefined {
    return this.#sql.exec<JobRow>('SELECT * FROM job').toArray()[0];
  }

  #require(): JobRow {
    const job = this.#job();
    if (!job) throw notFound('batch job not found');
    return job;
  }

  #chunk(idx: number): ChunkRow | undefined {
    return this.#sql.exec<ChunkRow>('SELECT * FROM chunks WHERE idx = ?', idx).toArray()[0];
  }
}

/** A job's object is named by its owner and id, so another consumer never reaches it. */
export const jobName = (consumer: string, id: string) => `${consumer}/${id}`;

/** A job's object by its name (`<consumer>/<id>`, as chunk messages carry it), or by owner and id. */
export const jobStubByName = (env: Env, name: string) => env.JOBS.get(env.JOBS.idFromName(name));
export const jobStub = (env: Env, consumer: string, id: string) => jobStubByName(env, jobName(consumer, id));
