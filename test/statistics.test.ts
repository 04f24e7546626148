// Triton's statistics extension: counts per model version, failures as failures, summed across isolates by one object per model.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { StatsRecorder } from '../src/runtime/statistics';
import { statsStub } from '../src/stats/stats-object';
import irisV2 from './fixtures/models/iris-v2.onnx';
import reference from './fixtures/reference.json';
import sequenceModel from './fixtures/triton/simple_sequence/1/model.onnx';
import sequenceConfig from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import { call, expectError, postJson } from './client';

const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(Array.from(new Uint8Array(bytes), (b) => String.fromCharCode(b)).join(''));
const rows = (n: number) => ({ inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: reference.iris.inputs.slice(0, n).flat() }] });
const stats = async (path: string) => {
  const response = await call(path);
  expect(response.status).toBe(200);
  return ((await response.json()) as any).model_stats as any[];
};

describe('statistics', () => {
  it("counts inferences, executions and failures per version in Triton's JSON", async () => {
    // With max_batch_size > 0 each row of a request is one inference, as Triton counts them.
    const files = { config: '{"max_batch_size": 8}', 'file:1/model.onnx': base64(irisV2), 'file:2/model.onnx': base64(irisV2) };
    expect((await postJson('/v2/repository/models/counted/load', { parameters: files })).status).toBe(200);
    for (const n of [1, 2, 3]) expect((await postJson('/v2/models/counted/versions/1/infer', rows(n))).status).toBe(200);
    expect((await postJson('/v2/models/counted/versions/2/infer', rows(5))).status).toBe(200);
    await expectError(await postJson('/v2/models/counted/versions/1/infer', { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }), 400, /shape/);

    const [v1] = await stats('/v2/models/counted/versions/1/stats');
    expect(Object.keys(v1)).toEqual(['name', 'version', 'last_inference', 'inference_count', 'execution_count', 'inference_stats', 'response_stats', 'batch_stats', 'memory_usage']);
    expect(v1).toMatchObject({ name: 'counted', version: '1', inference_count: 6, execution_count: 3 });
    expect(Object.keys(v1.inference_stats)).toEqual(['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit', 'cache_miss']);
    expect(v1.inference_stats.success.count).toBe(3);
    expect(v1.inference_stats.fail.count).toBe(1);
    expect(v1.inference_stats.compute_infer.count).toBe(3);
    expect(v1.last_inference).toBeGreaterThan(Date.now() - 60_000);
    for (const stat of Object.values(v1.inference_stats) as { count: number; ns: number }[]) {
      expect(Number.isInteger(stat.count) && Number.isInteger(stat.ns) && stat.ns >= 0).toBe(true);
    }

    const both = await stats('/v2/models/counted/stats');
    expect(both.map((s) => [s.version, s.inference_count, s.inference_stats.success.count])).toEqual([
      ['1', 6, 3],
      ['2', 5, 1],
    ]);
    const all = await stats('/v2/models/stats');
    expect(all.filter((s) => s.name === 'counted')).toEqual(both);
    expect(all.some((s) => s.name === 'iris' && s.version === '1')).toBe(true);
    await expectError(await call('/v2/models/wrong_model_name/stats'), 404, /^Request for unknown model/);
  });

  it('sums what the Worker and a sequence object counted for one model', async () => {
    const text = btoa(sequenceConfig);
    expect((await postJson('/v2/repository/models/seq_counted/load', { parameters: { 'file:config.pbtxt': text, 'file:1/model.onnx': base64(sequenceModel) } })).status).toBe(200);
    const step = (value: number, start: boolean, end: boolean) =>
      postJson('/v2/models/seq_counted/infer', { inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [value] }], parameters: { sequence_id: 31, sequence_start: start, sequence_end: end } });
    for (const [i, last] of [[0, false], [1, false], [2, true]] as const) expect((await step(i, i === 0, last)).status).toBe(200);
    // Without a sequence id the Worker's own data plane refuses it: a failure of the same model.
    await expectError(await postJson('/v2/models/seq_counted/infer', { inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }] }), 400, /correlation ID/);
    const [stat] = await stats('/v2/models/seq_counted/versions/1/stats');
    expect([stat.inference_stats.success.count, stat.inference_stats.fail.count, stat.execution_count]).toEqual([3, 1, 3]);
  });

  it('adds the counts of separate isolates into one total', async () => {
    const [a, b] = [new StatsRecorder(), new StatsRecorder()];
    a.success('twins', '1', 4, 2, { inputMs: 0.5, inferMs: 1, outputMs: 0.5, queueMs: 0.25, executions: 1, batchSize: 4 });
    b.success('twins', '1', 1, 3, { inputMs: 1, inferMs: 1, outputMs: 1, queueMs: 0, executions: 1, batchSize: 4 });
    b.failure('twins', '1', 1);
    const stub = statsStub(env, 'twins');
    for (const recorder of [a, b]) await stub.add(recorder.take().get('twins')!);
    const total = (await stub.read())['1']!;
    expect(total).toMatchObject({ inference_count: 5, execution_count: 2, success_count: 2, success_ns: 5e6, fail_count: 1, compute_infer_ns: 2e6, queue_ns: 2.5e5 });
    expect(total.batch_executions).toEqual({ '4': 2 });
    expect(a.pending || b.pending).toBe(false);
  });
});
