// GET /metrics: Prometheus text, read by a real parser, summed across isolates by the statistics' own hand-over.
import { env } from 'cloudflare:workers';
// @ts-expect-error: the package ships no types; it returns prom2json's shape (Family below).
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requestLog } from '../src/http/request-log';
import { metrics, seriesKey } from '../src/metrics/recorder';
import { dataPlane, flushStats } from '../src/serving';
import { metricsStub, statsStub } from '../src/stats/stats-object';
import irisV2 from './fixtures/models/iris-v2.onnx';
import reference from './fixtures/reference.json';
import sequenceModel from './fixtures/triton/simple_sequence/1/model.onnx';
import sequenceConfig from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import { call, expectError, postJson } from './client';

type Family = { name: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] };
type Sample = { labels: Record<string, string>; value: number };

const INFER = '/v2/models/:name/infer';
const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(Array.from(new Uint8Array(bytes), (b) => String.fromCharCode(b)).join(''));
const rows = (n: number) => ({ inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: reference.iris.inputs.slice(0, n).flat() }] });
const HISTOGRAMS = ['edge_request_duration_seconds', 'edge_model_load_seconds'];

/** One scrape, parsed: every family's samples by name (histograms' `_bucket`, `_sum`, `_count` as their own). */
async function scrape(): Promise<{ text: string; types: Map<string, string>; samples: (name: string, labels?: Record<string, string>) => Sample[] }> {
  const response = await call('/metrics');
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get('Content-Type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(text) as Family[];
  const types = new Map(families.map((f) => [f.name, f.type]));
  // The parser folds every label set of a histogram into one (its flattenMetrics keeps only `le`): the
  // histograms' sample lines are read again, each as a plain sample, from a copy without their TYPE line.
  const untyped = text.replace(new RegExp(`^# TYPE (${HISTOGRAMS.join('|')}) histogram$`, 'gm'), '');
  const all = [...families.filter((f) => !HISTOGRAMS.includes(f.name)), ...(parsePrometheusTextFormat(untyped) as Family[]).filter((f) => HISTOGRAMS.some((h) => f.name.startsWith(`${h}_`)))];
  const byName = new Map<string, Sample[]>();
  for (const family of all) {
    for (const m of family.metrics) (byName.get(family.name) ?? byName.set(family.name, []).get(family.name)!).push({ labels: m.labels ?? {}, value: Number(m.value) });
  }
  const samples = (name: string, labels: Record<string, string> = {}) =>
    (byName.get(name) ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return { text, types, samples };
}
const sum = (samples: Sample[]) => samples.reduce((n, s) => n + s.value, 0);

async function settle(id: string): Promise<{ state: string; records: { ok: number; failed: number } }> {
  for (let i = 0; i < 250; i++) {
    const job = (await (await call(`/v2/batches/${id}`)).json()) as { state: string; records: { ok: number; failed: number } };
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

describe('GET /metrics', () => {
  it('answers admins only: 401 without a key, 403 for a consumer', async () => {
    await expectError(await call('/metrics', { as: null }), 401, /Authorization/);
    await expectError(await call('/metrics', { as: 'bob' }), 403, /may not read the metrics/);
  });

  it('counts requests, latencies, errors, inferences, cache and loads, batch rows, sessions and sequences', async () => {
    const before = await scrape();

    // Online: successes, a 400 on a known model and a 404 on an unknown one.
    for (const n of [1, 2, 3]) expect((await postJson('/v2/models/iris/infer', rows(n))).status).toBe(200);
    for (let i = 0; i < 2; i++) await expectError(await postJson('/v2/models/iris/infer', { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }), 400, /shape/);
    await expectError(await postJson('/v2/models/no_such_model_here/infer', rows(1)), 404, /unknown model/);
    // A model loaded in this test: a cache miss and a load.
    const files = { config: '{"max_batch_size": 8}', 'file:1/model.onnx': base64(irisV2) };
    expect((await postJson('/v2/repository/models/metrics_loaded/load', { parameters: files })).status).toBe(200);
    expect((await postJson('/v2/models/metrics_loaded/infer', rows(2))).status).toBe(200);

    // Batch: 30 records of iris.
    const records = Array.from({ length: 30 }, (_, i) => `r${i},5.1,3.5,1.4,0.2`).join('\n');
    const upload = await call('/v2/batches/inbox/iris/metrics.csv', { method: 'PUT', body: `id,sepal_length,sepal_width,petal_length,petal_width\n${records}\n` });
    expect(upload.status).toBe(202);
    const job = await settle(((await upload.json()) as { id: string }).id);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 30, failed: 0 } });

    // A session started and ended; a sequence started and ended.
    const session = (await (await postJson('/v2/sessions', { model: 'movielens' })).json()) as { id: string };
    expect((await call(`/v2/sessions/${session.id}`, { method: 'DELETE' })).status).toBe(204);
    const sequence = { 'file:config.pbtxt': btoa(sequenceConfig), 'file:1/model.onnx': base64(sequenceModel) };
    expect((await postJson('/v2/repository/models/metrics_seq/load', { parameters: sequence })).status).toBe(200);
    for (const [i, start, end] of [[0, true, false], [1, false, true]] as const) {
      const body = { inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [i] }], parameters: { sequence_id: 77, sequence_start: start, sequence_end: end } };
      expect((await postJson('/v2/models/metrics_seq/infer', body)).status).toBe(200);
    }

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sum(after.samples(name, labels)) - sum(before.samples(name, labels));
    expect(after.types.get('edge_requests_total')).toBe('COUNTER');
    expect(after.types.get('edge_request_duration_seconds')).toBe('HISTOGRAM');

    // Requests by route pattern, method, status and model; an unknown model's name is no label value.
    expect(delta('edge_requests_total', { route: INFER, method: 'POST', status: '200', model: 'iris' })).toBeGreaterThanOrEqual(3);
    expect(delta('edge_requests_total', { route: INFER, method: 'POST', status: '400', model: 'iris' })).toBeGreaterThanOrEqual(2);
    expect(delta('edge_requests_total', { route: INFER, method: 'POST', status: '404', model: '' })).toBeGreaterThanOrEqual(1);
    expect(delta('edge_errors_total', { status: '400' })).toBeGreaterThanOrEqual(2);
    expect(delta('edge_errors_total', { status: '404' })).toBeGreaterThanOrEqual(1);
    expect(after.text).not.toContain('no_such_model_here');
    expect(after.samples('edge_requests_total').every((s) => !/[0-9a-f]{32}/.test(s.labels.route!))).toBe(true);
    expect(after.samples('edge_requests_total', { route: '/v2/sessions/:id', method: 'DELETE', status: '204' }).length).toBe(1);

    // The latency histogram: cumulative buckets, +Inf and _count equal to the requests counted.
    const series = { route: INFER, method: 'POST', model: 'iris' };
    const buckets = after.samples('edge_request_duration_seconds_bucket', series);
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    buckets.slice(1).forEach((b, i) => expect(b.value).toBeGreaterThanOrEqual(buckets[i]!.value));
    const [count] = after.samples('edge_request_duration_seconds_count', series);
    expect(count!.value).toBe(sum(after.samples('edge_requests_total', series)));
    expect(buckets.at(-1)!.value).toBe(count!.value);
    expect(after.samples('edge_request_duration_seconds_sum', series)[0]!.value).toBeGreaterThanOrEqual(0);

    // Inferences as the statistics extension counts them.
    const [iris] = ((await (await call('/v2/models/iris/versions/1/stats')).json()) as any).model_stats;
    expect(after.samples('edge_inferences_total', { model: 'iris', version: '1' })[0]!.value).toBe(iris.inference_count);
    expect(after.samples('edge_inference_executions_total', { model: 'iris', version: '1' })[0]!.value).toBe(iris.execution_count);
    expect(after.samples('edge_inference_failures_total', { model: 'iris', version: '1' })[0]!.value).toBe(iris.inference_stats.fail.count);
    expect(delta('edge_inferences_total', { model: 'metrics_loaded', version: '1' })).toBe(2);

    // The model cache and loads.
    expect(delta('edge_model_cache_misses_total')).toBeGreaterThanOrEqual(1);
    expect(after.samples('edge_model_cache_hits_total')[0]!.value).toBeGreaterThan(0);
    expect(after.types.get('edge_model_cache_evictions_total')).toBe('COUNTER');
    expect(delta('edge_model_load_seconds_count', { model: 'metrics_loaded' })).toBe(1);
    expect(after.samples('edge_model_load_seconds_bucket', { model: 'metrics_loaded', le: '+Inf' })[0]!.value).toBe(1);

    // Batch rows and chunks; sessions and sequences.
    expect(delta('edge_batch_rows_total', { model: 'iris' })).toBe(30);
    expect(delta('edge_batch_chunks_total', { outcome: 'scored' })).toBeGreaterThanOrEqual(1);
    expect(delta('edge_sessions_started_total', { model: 'movielens' })).toBe(1);
    expect(delta('edge_sessions_ended_total')).toBe(1);
    expect(after.samples('edge_sessions_open')).toHaveLength(1);
    expect(delta('edge_sequences_started_total', { model: 'metrics_seq' })).toBe(1);
    expect(delta('edge_sequences_ended_total', { model: 'metrics_seq' })).toBe(1);
    expect(after.samples('edge_sequences_open', { model: 'metrics_seq' })[0]!.value).toBe(0);
  });

  it('loses nothing and counts nothing twice when a hand-over fails', async () => {
    const key = seriesKey('edge_test_handover_total', { probe: crypto.randomUUID() });
    const { stats } = dataPlane(env);
    // This test's module may share its isolate's counters with the Worker: only these two counts are asserted.
    metrics.restore({ [key]: 5 });
    stats.success('handover_probe', '1', 4, 1, { inputMs: 0, inferMs: 1, outputMs: 0, queueMs: 0, executions: 1, batchSize: 4 });

    // The statistics objects take their counts; the metrics object is down.
    const down = {
      ...env,
      STATS: {
        idFromName: (name: string) => env.STATS.idFromName(name),
        get: (id: DurableObjectId) => {
          const real = env.STATS.get(id);
          return { add: (deltas: any) => real.add(deltas), addMetrics: () => Promise.reject(new Error('metrics object unreachable')) };
        },
      },
    } as unknown as Env;
    let failure: unknown;
    // A hand-over already under way in this isolate makes flushStats a no-op: try until this one runs.
    for (let i = 0; i < 200 && !failure; i++) {
      await flushStats(down).catch((error: unknown) => (failure = error));
      if (!failure) await new Promise((r) => setTimeout(r, 10));
    }
    expect(String(failure)).toMatch(/metrics object unreachable/);
    expect(metrics.peek().get(key)).toBe(5);
    expect(stats.peek().has('handover_probe')).toBe(false);
    expect((await statsStub(env, 'handover_probe').read())['1']).toMatchObject({ inference_count: 4, execution_count: 1 });
    expect((await metricsStub(env).readMetrics())[key]).toBeUndefined();

    // The next hand-over carries them, once.
    for (let i = 0; i < 200 && metrics.peek().has(key); i++) {
      await flushStats(env);
      if (metrics.peek().has(key)) await new Promise((r) => setTimeout(r, 10));
    }
    expect(metrics.peek().has(key)).toBe(false);
    await flushStats(env);
    expect((await metricsStub(env).readMetrics())[key]).toBe(5);
    expect((await statsStub(env, 'handover_probe').read())['1']).toMatchObject({ inference_count: 4, execution_count: 1 });
  });

  it('writes one Analytics Engine data point per request when an ANALYTICS binding exists', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const app = new Hono<{ Bindings: Env }>().use(requestLog()).get('/probe/:name', (c) => c.json({}, 200, { 'Model-Version': '3' }));
    const analytics = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) };
    expect((await app.request('/probe/iris', {}, { ...env, ANALYTICS: analytics })).status).toBe(200);
    expect(points).toEqual([{ indexes: ['iris'], blobs: ['/probe/:name', 'GET', 'iris', '3', '', '200'], doubles: [expect.any(Number), 200] }]);
    // Without the binding nothing is written and nothing fails; a sink that throws fails no request either.
    expect((await app.request('/probe/iris', {}, env)).status).toBe(200);
    const broken = {
      writeDataPoint: () => {
        throw new Error('sink down');
      },
    };
    expect((await app.request('/probe/iris', {}, { ...env, ANALYTICS: broken })).status).toBe(200);
  });
});
