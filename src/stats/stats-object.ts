// One object per model: the statistics every isolate has counted for it, summed, so no isolate reports only its own share.
import { DurableObject } from 'cloudflare:workers';
import { addCounters, zeroCounters, type ModelCounters, type VersionCounters } from '../runtime/statistics';

export class StatsObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS versions (version TEXT PRIMARY KEY, counters TEXT NOT NULL)');
  }

  /** Adds one isolate's counts; the object runs one call at a time and SQLite calls are synchronous, so no add is lost. */
  add(deltas: ModelCounters): void {
    const totals = this.read();
    for (const [version, delta] of Object.entries(deltas)) {
      const total = addCounters(totals[version] ?? zeroCounters(), delta);
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO versions (version, counters) VALUES (?, ?)', version, JSON.stringify(total));
    }
  }

  read(): ModelCounters {
    const rows = this.ctx.storage.sql.exec<{ version: string; counters: string }>('SELECT version, counters FROM versions').toArray();
    return Object.fromEntries(rows.map((r) => [r.version, JSON.parse(r.counters) as VersionCounters]));
  }
}

export const statsStub = (env: Env, model: string) => env.STATS.get(env.STATS.idFromName(model));
