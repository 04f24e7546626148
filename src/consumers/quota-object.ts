// One object per consumer: the sessions and batch jobs it holds at once. Admission runs one call at a
// time on synchronous SQLite, so two requests can never both take the last place.
import { DurableObject } from 'cloudflare:workers';

export type Held = 'session' | 'job';

export class QuotaObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS held (kind TEXT NOT NULL, id TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (kind, id))');
  }

  /** Takes a place for `id` unless `max` of its kind are held already; taking one already held succeeds. */
  acquire(kind: Held, id: string, max: number): { ok: boolean; held: number } {
    const sql = this.ctx.storage.sql;
    if (sql.exec('SELECT 1 FROM held WHERE kind = ? AND id = ?', kind, id).toArray().length) return { ok: true, held: this.#count(kind) };
    const held = this.#count(kind);
    if (held >= max) return { ok: false, held };
    sql.exec('INSERT INTO held (kind, id, since) VALUES (?, ?, ?)', kind, id, Date.now());
    return { ok: true, held: held + 1 };
  }

  release(kind: Held, id: string): void {
    this.ctx.storage.sql.exec('DELETE FROM held WHERE kind = ? AND id = ?', kind, id);
  }

  #count(kind: Held): number {
    return this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM held WHERE kind = ?', kind).one().n;
  }
}

export const quotaStub = (env: Env, consumer: string) => env.QUOTAS.get(env.QUOTAS.idFromName(consumer));
