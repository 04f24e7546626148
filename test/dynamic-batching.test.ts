// Dynamic batching: the queue's rules with a fake clock, then real models, where each request's answer from a
// shared execution must equal the one it gets alone.
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS } from '../models';
import { DataPlane } from '../src/runtime/data-plane';
import { batchingPolicyOf, DynamicBatcher, type BatchingPolicy, type Clock } from '../src/runtime/dynamic-batcher';
import { parseConfigFile, parseModelConfig } from '../src/runtime/model-config';
import { modelStat } from '../src/runtime/statistics';
import { postJson } from './client';
import { ort } from '../src/runtime/ort';
import reference from './fixtures/reference.json';

/** A clock that only moves when told: `advance` wakes the sleepers that are due, then lets their code run. */
function fakeClock() {
  let now = 0;
  const sleepers: { due: number; wake: () => void }[] = [];
  const clock: Clock = { now: () => now, sleep: (ms) => new Promise<void>((wake) => void sleepers.push({ due: now + ms, wake })) };
  return {
    clock,
    /** When each sleeping request will look again. */
    due: () => sleepers.map((s) => s.due),
    async advance(ms: number) {
      now += ms;
      for (const sleeper of sleepers.filter((s) => s.due <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
      await settle();
    },
  };
}

/** Lets every pending continuation run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A "model" of plain maths: y = 2x per row; a negative input is an error. */
function doubling() {
  const calls: number[][] = [];
  const run = async (feeds: Record<string, ort.Tensor>) => {
    const x = feeds.x!;
    calls.push([...(x.data as Float32Array)]);
    if ((x.data as Float32Array).some((v) => v < 0)) throw new Error('negative input');
    return { y: new ort.Tensor('float32', (x.data as Float32Array).map((v) => 2 * v), x.dims) };
  };
  return { calls, run };
}

const rows = (...values: number[][]) => ({ x: new ort.Tensor('float32', Float32Array.from(values.flat()), [values.length, values[0]!.length]) });
const policy: BatchingPolicy = { target: 8, minWaiting: 2, maxDelayMs: 2 };

describe('dynamic batcher (logic)', () => {
  it('reads Triton dynamic_batching from the config', () => {
    const config = parseModelConfig({ max_batch_size: 64, dynamic_batching: { preferred_batch_size: [4, 16, 128], max_queue_delay_microseconds: 500 } }, 'config');
    expect(batchingPolicyOf(config)).toEqual({ target: 16, minWaiting: 4, maxDelayMs: 0.5 });
    const pbtxt = parseConfigFile('config.pbtxt', 'max_batch_size: 32\ndynamic_batching { max_queue_delay_microseconds: 100 preferred_batch_size: [ 8 ] }', 'config.pbtxt');
    expect(batchingPolicyOf(pbtxt)).toEqual({ target: 8, minWaiting: 8, maxDelayMs: 0.1 });
    expect(batchingPolicyOf(parseModelConfig({ max_batch_size: 64 }, 'config'))).toBeUndefined();
    expect(batchingPolicyOf(parseModelConfig({ max_batch_size: 0, dynamic_batching: {} }, 'config'))).toBeUndefined();
    expect(() => parseModelConfig({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: -1 } }, 'config')).toThrow(/max_queue_delay_microseconds/);
  });

  it('runs a request alone at once when nobody else is in the isolate for the model', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 1, fake.clock);
    const answer = await batcher.submit(rows([1, 2]), ['y']);
    expect(fake.due()).toEqual([]);
    expect(answer).toMatchObject({ executions: 1, batchSize: 1, queueMs: 0 });
    expect([...(answer.outputs.y!.data as Float32Array)]).toEqual([2, 4]);
  });

  it('does not wait while fewer requests are in the isolate than the smallest preferred batch', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher({ ...policy, minWaiting: 4 }, model.run, () => 3, fake.clock);
    await Promise.all([batcher.submit(rows([1, 1]), ['y']), batcher.submit(rows([2, 2]), ['y'])]);
    expect(model.calls).toEqual([[1, 1], [2, 2]]);
    expect(fake.due()).toEqual([]);
  });

  it('merges the requests in the isolate into one execution once all have joined, and splits the rows back', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 3, fake.clock);
    const answers = Promise.all([batcher.submit(rows([1, 1]), ['y']), batcher.submit(rows([2, 2], [3, 3]), ['y']), batcher.submit(rows([4, 4]), ['y'])]);
    await settle();
    // The third request completed the batch and ran it; the first two, asleep on their own timers, read their rows on waking.
    expect(model.calls).toEqual([[1, 1, 2, 2, 3, 3, 4, 4]]);
    expect(fake.due()).toEqual([1, 1]);
    await fake.advance(1);
    const [a, b, c] = await answers;
    expect([a, b, c].map((e) => [e.executions, e.batchSize, [...(e.outputs.y!.data as Float32Array)], e.outputs.y!.dims])).toEqual([
      [1, 4, [2, 2], [1, 2]],
      [0, 4, [4, 4, 6, 6], [2, 2]],
      [0, 4, [8, 8], [1, 2]],
    ]);
  });

  it('never lets a request wait past the delay when the others it expects do not come', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 5, fake.clock);
    const first = batcher.submit(rows([1, 1]), ['y']);
    await fake.advance(1.5);
    const second = batcher.submit(rows([2, 2]), ['y']);
    await settle();
    expect(model.calls).toHaveLength(0);
    // Nobody sleeps past their own deadline: the first request (arrived at 0) looks again at 2, the second at 2.5.
    expect(fake.due().sort()).toEqual([2, 2.5]);
    await fake.advance(0.5);
    expect(model.calls).toEqual([[1, 1, 2, 2]]);
    await fake.advance(0.5);
    const [a, b] = await Promise.all([first, second]);
    expect([a.queueMs, b.queueMs]).toEqual([2, 0.5]);
    expect([a.executions, b.executions]).toEqual([1, 0]);
  });

  it('runs as soon as the queue holds the target rows, and never puts more than the target in one execution', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher({ target: 4, minWaiting: 2, maxDelayMs: 100 }, model.run, () => 32, fake.clock);
    const answers = [batcher.submit(rows([1], [1], [1]), ['y']), batcher.submit(rows([2], [2]), ['y']), batcher.submit(rows([3], [3]), ['y'])];
    await settle();
    // 3 + 2 rows reach the target: the queue runs at once, the first request alone (the second would make 5 rows),
    // then the second; the third, 2 rows of 4, waits for others or its delay.
    expect(model.calls).toEqual([[1, 1, 1], [2, 2]]);
    const third = batcher.submit(rows([4], [4]), ['y']);
    await settle();
    // Now 4 rows are queued: they run at once, long before the delay.
    expect(model.calls).toEqual([[1, 1, 1], [2, 2], [3, 3, 4, 4]]);
    await fake.advance(1);
    expect((await Promise.all([...answers, third])).map((e) => e.executions)).toEqual([1, 1, 1, 0]);
  });

  it('keeps requests with different inner shapes or outputs apart', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 3, fake.clock);
    const answers = Promise.all([batcher.submit(rows([1, 1]), ['y']), batcher.submit(rows([2, 2, 2]), ['y']), batcher.submit(rows([3, 3]), ['y'])]);
    await settle();
    await fake.advance(1);
    await answers;
    expect(model.calls).toEqual([[1, 1, 3, 3], [2, 2, 2]]);
  });

  it('answers each request on its own when the shared execution fails, so one bad request fails alone', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 3, fake.clock);
    const results = Promise.allSettled([batcher.submit(rows([1, 1]), ['y']), batcher.submit(rows([-1, 1]), ['y']), batcher.submit(rows([3, 3]), ['y'])]);
    await settle();
    await fake.advance(1);
    const settled = await results;
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[1]).toMatchObject({ reason: new Error('negative input') });
    expect(model.calls).toEqual([[1, 1, -1, 1, 3, 3], [1, 1], [-1, 1], [3, 3]]);
  });

  it('falls back to one execution per request when an output has no batch dimension', async () => {
    const fake = fakeClock();
    const calls: number[] = [];
    const run = async (feeds: Record<string, ort.Tensor>) => {
      calls.push(feeds.x!.dims[0]!);
      return { total: new ort.Tensor('float32', Float32Array.of((feeds.x!.data as Float32Array).reduce((a, b) => a + b, 0)), [1]) };
    };
    const batcher = new DynamicBatcher(policy, run, () => 2, fake.clock);
    const answers = Promise.all([batcher.submit(rows([1, 2]), ['total']), batcher.submit(rows([3, 4]), ['total'])]);
    await settle();
    await fake.advance(1);
    const [a, b] = await answers;
    expect(calls).toEqual([2, 1, 1]);
    expect([a.outputs.total!.data[0], b.outputs.total!.data[0]]).toEqual([3, 7]);
  });

  it('runs a request alone when the request that took its batch never answered it', async () => {
    const fake = fakeClock();
    const model = doubling();
    const batcher = new DynamicBatcher(policy, model.run, () => 2, fake.clock);
    const orphan = batcher.submit(rows([5, 5]), ['y']);
    await settle();
    // Another request takes the queue and its execution never ends (as when that request is cancelled mid-run).
    (batcher as unknown as { run: unknown }).run = () => new Promise<never>(() => {});
    void batcher.submit(rows([6, 6]), ['y']);
    await settle();
    (batcher as unknown as { run: unknown }).run = model.run;
    await fake.advance(1003);
    await fake.advance(1);
    expect([...((await orphan).outputs.y!.data as Float32Array)]).toEqual([10, 10]);
  });
});

const images = reference.fashion_mnist.inputs;
const image = (i: number) => ({ name: 'input', shape: [1, 784], datatype: 'FP32', data: images[i]! });

describe('dynamic batching on a real model', () => {
  it('gives each request of a shared execution the same answer as running it alone, and counts executions apart from inferences', async () => {
    const plane = new DataPlane({ bundled: BUNDLED_MODELS, cacheBytes: 1 << 26, repositoryTtlMs: 0 });
    const alone = await Promise.all(
      images.map(async (_, i) => {
        const out = await plane.run('fashion-mnist', '1', { input: { datatype: 'FP32', shape: [1, 784], data: Float32Array.from(images[i]!) } }, ['probabilities']);
        return [...(out.probabilities!.data as Float32Array)];
      }),
    );
    plane.stats.take();
    // All 64 requests are in the isolate at once: the batcher runs them as two executions of the largest preferred size, 32.
    const shared = await Promise.all(images.map((_, i) => plane.arriving('fashion-mnist', () => plane.infer('fashion-mnist', '1', { inputs: [image(i)] }))));
    shared.forEach((result, i) => {
      expect(result.executions).toBe(i % 32 === 0 ? 1 : 0);
      expect(result.batchSize).toBe(32);
      // Bit for bit: the same FP32 values as the request run alone.
      expect(result.response.outputs[0]!.data).toEqual(alone[i]);
      // And within ONNX Runtime's native results.
      (result.response.outputs[0]!.data as number[]).forEach((p, k) => expect(Math.abs(p - reference.fashion_mnist.probabilities[i]![k]!)).toBeLessThan(1e-5));
    });
    const counters = plane.stats.take().get('fashion-mnist')!['1']!;
    expect(counters).toMatchObject({ inference_count: images.length, execution_count: 2, success_count: images.length });
    expect(modelStat('fashion-mnist', '1', counters).batch_stats).toEqual([expect.objectContaining({ batch_size: 32, compute_infer: { count: 2, ns: expect.any(Number) } })]);
  });

  it('answers concurrent HTTP requests exactly as sequential ones, with the queue time in Server-Timing', async () => {
    const post = (i: number) => postJson('/v2/models/fashion-mnist/infer', { inputs: [image(i)] });
    const sequential = [];
    for (let i = 0; i < 24; i++) sequential.push(await (await post(i)).json());
    const concurrent = await Promise.all(Array.from({ length: 24 }, (_, i) => post(i)));
    expect(concurrent.map((r) => r.status)).toEqual(Array(24).fill(200));
    expect(concurrent.every((r) => /^queue;dur=[\d.]+, infer;dur=[\d.]+, rest;dur=[\d.]+$/.test(r.headers.get('Server-Timing') ?? ''))).toBe(true);
    expect(await Promise.all(concurrent.map((r) => r.json()))).toEqual(sequential);
  });
});
