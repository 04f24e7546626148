// The int8 variant of fashion-mnist (models/fashion-mnist-int8, made by scripts/quantize.ts): served like the FP32
// model, equal to onnxruntime-node's output on the same quantised file, and the same top-1 class as FP32.
import { describe, expect, it } from 'vitest';
import int8Config from '../models/fashion-mnist-int8/config.json';
import fp32Config from '../models/fashion-mnist/config.json';
import sample from './fixtures/fashion-mnist-sample.json';
import reference from './fixtures/int8-reference.json';
import { call, postJson } from './client';

const infer = async (model: string, images: number[][]) => {
  const response = await postJson(`/v2/models/${model}/infer`, {
    inputs: [{ name: 'input', shape: [images.length, 784], datatype: 'FP32', data: images.flat() }],
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
};

describe('fashion-mnist-int8', () => {
  it('has the FP32 model’s inputs, outputs, labels and batch size', async () => {
    const [int8, fp32] = await Promise.all(['fashion-mnist-int8', 'fashion-mnist'].map(async (m) => (await call(`/v2/models/${m}`)).json()));
    expect((int8 as any).inputs).toEqual((fp32 as any).inputs);
    expect((int8 as any).outputs).toEqual((fp32 as any).outputs);
    expect(int8Config.labels).toEqual(fp32Config.labels);
    expect(int8Config.max_batch_size).toBe(fp32Config.max_batch_size);
    expect(int8Config.training.fp32_accuracy).toBe(fp32Config.training.accuracy);
    expect(Math.abs(int8Config.training.accuracy - fp32Config.training.accuracy)).toBeLessThan(0.005);
  });

  it('matches onnxruntime-node on the same quantised file', async () => {
    const body = await infer('fashion-mnist-int8', sample.images);
    const [probabilities, label] = body.outputs;
    expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [64, 10] });
    const expected = reference.probabilities.flat();
    probabilities!.data.forEach((p, i) => expect(Math.abs(p - expected[i]!)).toBeLessThanOrEqual(1e-5));
    expect(label!.data).toEqual(reference.label);
  });

  it('gives the FP32 model’s top-1 class on real test images, one by one and batched', async () => {
    expect(reference.fp32_label).toEqual(reference.label); // all 64 agree (99.75 % of the 10,000 test images do)
    const batched = await infer('fashion-mnist-int8', sample.images);
    const fp32 = await infer('fashion-mnist', sample.images);
    expect(batched.outputs[1]!.data).toEqual(fp32.outputs[1]!.data);
    for (const i of [0, 1, 2, 3]) {
      const one = await infer('fashion-mnist-int8', [sample.images[i]!]);
      expect(one.outputs[1]!.data).toEqual([reference.fp32_label[i]]);
    }
  });
});
