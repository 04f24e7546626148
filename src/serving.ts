// The isolate's one data plane, over the bundled models and the MODELS bucket, and where its statistics and metrics go.
import { BUNDLED_MODELS } from '../models';
import type { VersionTotals } from './metrics/exposition';
import { metrics } from './metrics/recorder';
import { DataPlane } from './runtime/data-plane';
import { InferenceError } from './runtime/errors';
import { addCounters, modelStat, zeroCounters, type ModelCounters } from './runtime/statistics';
import { metricsStub, statsStub } from './stats/stats-object';

let plane: DataPlane | undefined;

/** Built on first use, then shared by every request, object and queue batch in the isolate. */
export function dataPlane(env: Env): DataPlane {
  plane ??= new DataPlane({
    bucket: env.MODELS,
    bundled: BUNDLED_MODELS,
    cacheBytes: Number(env.MODEL_CACHE_MB) * 1024 * 1024,
    repositoryTtlMs: Number(env.REPOSITORY_TTL_SECONDS) * 1000,
    batching: String(env.DYNAMIC_BATCHING) !== 'false',
    events: metrics.events,
  });
  return plane;
}

/** Whether this isolate is handing its counts on: a flag, not a shared promise, so no request waits on another's I/O. */
let flushing = false;
let lastFlush = 0;
/** Under load the Worker hands its counts on at most this often: one RPC per model per second, not per request. */
const FLUSH_INTERVAL_MS = 1000;

/** Whether this isolate has counted anything not yet handed on: statistics or metrics. */
const pending = (env: Env) => dataPlane(env).stats.pending || metrics.pending;

/** Whether a hand-over should start now: checked synchronously, so a request that has none to make pays nothing. */
const flushDue = (env: Env, every: number) => !flushing && !!env.STATS && pending(env) && Date.now() - lastFlush >= every;

/**
 * Hands the statistics this isolate counted to each model's StatsObject, and its metrics to the one
 * that sums them (one mechanism for both). Called after the answer is sent (waitUntil), so counting
 * costs no request latency; what fails to arrive is counted again next time. `every` spaces the
 * hand-overs out; without a STATS binding (plain workerd) counts stay local.
 */
export async function flushStats(env: Env, every = 0): Promise<void> {
  if (!flushDue(env, every)) return;
  const { stats } = dataPlane(env);
  flushing = true;
  lastFlush = Date.now();
  try {
    while (pending(env)) {
      const models = [...stats.take()];
      const series = metrics.take();
      const sends: Promise<unknown>[] = models.map(([model, versions]) => statsStub(env, model).add(versions));
      if (Object.keys(series).length) sends.push(metricsStub(env).addMetrics(series));
      const sent = await Promise.allSettled(sends);
      // An object that did not take its counts gives them back: nothing is lost, nothing counted twice.
      sent.forEach((result, i) => {
        if (result.status === 'fulfilled') return;
        if (i < models.length) stats.restore(...models[i]!);
        else metrics.restore(series);
      });
      const failure = sent.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    }
  } finally {
    flushing = false;
  }
}

/** For Durable Objects: hands on the statistics an answer counted, once it has settled. */
export function flushAfter<T>(ctx: DurableObjectState, env: Env, answer: Promise<T>): Promise<T> {
  ctx.waitUntil(answer.then(() => flushStats(env)).catch(console.error));
  return answer;
}

/** Hands on the statistics a request counted, after its answer is sent and at most once a second. */
export function handOnStats(env: Env, ctx: ExecutionContext): void {
  if (flushDue(env, FLUSH_INTERVAL_MS)) ctx.waitUntil(flushStats(env).catch(console.error));
}

/** Triton's `model_stats` for the READY versions asked for, summed over every isolate (this one's counts handed on first). */
export async function modelStats(env: Env, name?: string, version?: string) {
  if (!env.STATS) throw new InferenceError(503, 'statistics need the STATS Durable Object binding, which this deployment lacks');
  await settleFlush();
  await flushStats(env);
  const versions = await summedCounters(env, await dataPlane(env).servedVersions(name, version));
  return { model_stats: versions.map((v) => modelStat(v.name, v.version, v.counters)) };
}

/** Each version's counters as every isolate handed them on: one read per model's StatsObject. */
async function summedCounters(env: Env, versions: { name: string; version: string }[]): Promise<VersionTotals[]> {
  const totals = new Map<string, ModelCounters>();
  await Promise.all([...new Set(versions.map((v) => v.name))].map(async (model) => totals.set(model, await statsStub(env, model).read())));
  return versions.map(({ name, version }) => ({ name, version, counters: totals.get(name)?.[version] ?? zeroCounters() }));
}

/** Waits (a while) for a hand-over this isolate has under way, so what it carries is read too. */
async function settleFlush(): Promise<void> {
  for (let waited = 0; flushing && waited < 2000; waited += 10) await scheduler.wait(10);
}

/**
 * The metric totals of every isolate, for GET /metrics: this isolate's counts are handed on first and
 * then only the objects' sums are read, so every scrape, whichever isolate answers it, only grows.
 * A hand-over that fails here leaves its counts pending for the next one (a later scrape shows them).
 * Without a STATS binding (plain workerd) the totals are this isolate's own.
 */
export async function metricTotals(env: Env): Promise<{ series: Iterable<[string, number]>; versions: VersionTotals[] }> {
  const plane = dataPlane(env);
  if (!env.STATS) {
    const local = [...plane.stats.peek()];
    const versions = local.flatMap(([name, byVersion]) => Object.entries(byVersion).map(([version, counters]) => ({ name, version, counters: addCounters(zeroCounters(), counters) })));
    return { series: [...metrics.peek()], versions };
  }
  await settleFlush();
  await flushStats(env).catch(console.error);
  const [series, served] = await Promise.all([metricsStub(env).readMetrics(), plane.servedVersions()]);
  return { series: Object.entries(series), versions: await summedCounters(env, served) };
}
