// One object per model: the statistics every isolate has counted for it, summed, so no isolate reports only its own share.
// One more, under a name no model can have, sums the isolates' Prometheus counters the same way.
import { DurableObject } from 'cloudflare:workers';
import { addCounters, zeroCounters, type ModelCounters, type VersionCounters } from '../runtime/statistics';

export class StatsObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS versions (version TEXT PRIMARY KEY, counters TEXT NOT NULL)');
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS metrics (series TEXT PRIMARY KEY, value REAL NOT NULL)');
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
    // Rows written before a counter existed read it as zero.
    return Object.fromEntries(rows.map((r) => [r.version, addCounters(zeroCounters(), JSON.parse(r.counters) as VersionCounters)]));
  }

  /** Adds one isolate's metric counts (series key → amount), all in one call: all of them arrive or none. */
  addMetrics(deltas: Record<string, number>): void {
    this.ctx.storage.transactionSync(() => {
      for (const [series, by] of Object.entries(deltas)) {
        this.ctx.storage.sql.exec('INSERT INTO metrics (series, value) VALUES (?, ?) ON CONFLICT (series) DO UPDATE SET value = value + excluded.value', series, by);
      }
    });
  }

  readMetrics(): Record<string, number> {
    const rows = this.ctx.storage.sql.exec<{ series: string; value: number }>('SELECT series, value FROM metrics').toArray();
    return Object.fromEntries(rows.map((r) => [r.series, r.value]));
  }
}

export const statsStub = (env: Env, model: string) => env.STATS.get(env.STATS.idFromName(model));

/** The object that sums the metrics: '#' is in no model name, so it is no model's. */
export const metricsStub = (env: Env) => env.STATS.get(env.STATS.idFromName('#metrics'));
