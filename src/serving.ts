// The isolate's one data plane, over the bundled models and the MODELS bucket, and where its statistics go.
import type { MiddlewareHandler } from 'hono';
import { BUNDLED_MODELS } from '../models';
import { DataPlane } from './runtime/data-plane';
import { modelStat, zeroCounters, type VersionCounters } from './runtime/statistics';
import { statsStub } from './stats/stats-object';

let plane: DataPlane | undefined;

/** Built on first use, then shared by every request, object and queue batch in the isolate. */
export function dataPlane(env: Env): DataPlane {
  plane ??= new DataPlane({
    bucket: env.MODELS,
    bundled: BUNDLED_MODELS,
    cacheBytes: Number(env.MODEL_CACHE_MB) * 1024 * 1024,
    repositoryTtlMs: Number(env.REPOSITORY_TTL_SECONDS) * 1000,
  });
  return plane;
}

/** Whether this isolate is handing its counts on: a flag, not a shared promise, so no request waits on another's I/O. */
let flushing = false;

/**
 * Hands the statistics this isolate counted to each model's StatsObject. Called after the answer is
 * sent (waitUntil), so counting costs no request latency; what fails to arrive is counted again next time.
 */
export async function flushStats(env: Env): Promise<void> {
  const { stats } = dataPlane(env);
  if (flushing || !stats.pending) return;
  flushing = true;
  try {
    while (stats.pending) {
      const taken = stats.take();
      const byModel = new Map<string, Record<string, VersionCounters>>();
      for (const [key, counters] of taken) {
        const at = key.lastIndexOf('@');
        const versions = byModel.get(key.slice(0, at)) ?? {};
        versions[key.slice(at + 1)] = counters;
        byModel.set(key.slice(0, at), versions);
      }
      try {
        await Promise.all([...byModel].map(([model, versions]) => statsStub(env, model).add(versions)));
      } catch (error) {
        stats.restore(taken);
        throw error;
      }
    }
  } finally {
    flushing = false;
  }
}

/** Hands on the statistics a request counted after its answer is sent. */
export function flushStatsAfterResponse(): MiddlewareHandler<{ Bindings: Env }> {
  return async function flushStatsAfterResponse(c, next) {
    await next();
    c.executionCtx.waitUntil(flushStats(c.env).catch(console.error));
  };
}

/** Triton's `model_stats` for the READY versions asked for, summed over every isolate (this one's counts handed on first). */
export async function modelStats(env: Env, name?: string, version?: string) {
  for (let waited = 0; flushing && waited < 2000; waited += 10) await scheduler.wait(10);
  await flushStats(env);
  const versions = await dataPlane(env).servedVersions(name, version);
  const totals = new Map<string, Record<string, VersionCounters>>();
  await Promise.all([...new Set(versions.map((v) => v.name))].map(async (model) => totals.set(model, await statsStub(env, model).read())));
  return { model_stats: versions.map((v) => modelStat(v.name, v.version, totals.get(v.name)?.[v.version] ?? zeroCounters())) };
}
