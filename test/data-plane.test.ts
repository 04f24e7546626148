// The data plane holds a model for the whole of a run: a cache over budget cannot release it underneath.
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS } from '../models';
import { DataPlane } from '../src/runtime/data-plane';
import type { ModelHandle } from '../src/runtime/data-plane';
import reference from './fixtures/reference.json';

const near = (a: ArrayLike<number>, b: number[]) => a.length === b.length && b.every((v, i) => Math.abs(a[i]! - v) <= 1e-5);
const irisRows = (n: number) => ({ datatype: 'FP32' as const, shape: [n, 4], data: Float32Array.from(reference.iris.inputs.slice(0, n).flat()) });

describe('data plane', () => {
  it('keeps a held model alive while other loads push the cache over budget, and releases it after', async () => {
    // One byte of budget: every load evicts every other model that is not in use.
    const plane = new DataPlane({ bundled: BUNDLED_MODELS, cacheBytes: 1, repositoryTtlMs: 0 });
    let held: ModelHandle | undefined;
    const probabilities = await plane.hold('iris', '1', async (model) => {
      held = model;
      for (const other of ['fashion-mnist', 'flights-delay', 'silero-vad']) await plane.describe(other);
      const out = await model.run({ input: irisRows(3) }, ['probabilities']);
      return out.probabilities!.data as Float32Array;
    });
    expect(near(probabilities, reference.iris.probabilities.slice(0, 3).flat())).toBe(true);
    // The run has ended and the model was evicted meanwhile: its session is released now.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(held!.run({ input: irisRows(1) }, ['probabilities'])).rejects.toThrow();
    // A new hold loads it again.
    const again = await plane.run('iris', '1', { input: irisRows(1) }, ['probabilities']);
    expect(near(again.probabilities!.data as Float32Array, reference.iris.probabilities[0]!)).toBe(true);
  });

  it('checks tensor-level inputs against the graph', async () => {
    const plane = new DataPlane({ bundled: BUNDLED_MODELS, cacheBytes: 1 << 26, repositoryTtlMs: 0 });
    await expect(plane.run('iris', undefined, { nope: irisRows(1) }, ['probabilities'])).rejects.toThrow(/unknown input 'nope'/);
    await expect(plane.run('iris', undefined, { input: { ...irisRows(1), shape: [1, 3] } }, ['probabilities'])).rejects.toThrow(/shape \[1, 3\]/);
    await expect(plane.run('iris', undefined, { input: irisRows(1) }, ['nope'])).rejects.toThrow(/unknown output 'nope'/);
    await expect(plane.run('nope', undefined, { input: irisRows(1) }, ['probabilities'])).rejects.toThrow(/not found/);
  });
});
