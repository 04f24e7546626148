// The model repository: index, upload validated by ORT, hot swap to a new version, pinned versions, unload/load.
import { describe, expect, it } from 'vitest';
import { infer } from '../src/runtime/inference';
import { ModelCache } from '../src/runtime/model-cache';
import { parseModelConfig } from '../src/runtime/model-config';
import type { ModelVersion } from '../src/runtime/model-repository';
import corrupt from './fixtures/models/corrupt.onnx';
import echo from './fixtures/models/echo.onnx';
import irisV2 from './fixtures/models/iris-v2.onnx';
import reference from './fixtures/reference.json';
import { call, expectError, postJson } from './client';

const row = (i: number) => reference.iris.inputs[i]!;
const inferIris = (path: string) => postJson(path, { inputs: [{ name: 'input', shape: [5, 4], datatype: 'FP32', data: reference.iris_v2.inputs.flat() }] });
const probabilities = async (response: Response) => ((await response.json()) as any).outputs[0].data as number[];
const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5);
const put = (name: string, version: string, body: BodyInit, as: 'alice' | 'bob' = 'alice') =>
  call(`/v2/repository/models/${name}/versions/${version}/model.onnx`, { method: 'PUT', body, as });
const base64 = (buffer: ArrayBuffer) => btoa(Array.from(new Uint8Array(buffer), (b) => String.fromCharCode(b)).join(''));

describe('a fresh isolate', () => {
  it('answers concurrent first requests, all while ONNX Runtime starts', async () => {
    const responses = await Promise.all(Array.from({ length: 12 }, () => inferIris('/v2/models/iris/versions/1/infer')));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const outputs = await Promise.all(responses.map(probabilities));
    outputs.forEach((o) => expect(near(o, reference.iris.probabilities.slice(0, 5).flat())).toBe(true));
  });
});

describe('repository index', () => {
  it('lists the bundled models and filters by readiness', async () => {
    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    expect(index).toEqual(
      expect.arrayContaining([
        { name: 'iris', version: '1', state: 'READY', reason: '' },
        { name: 'fashion-mnist', version: '1', state: 'READY', reason: '' },
      ]),
    );
    const empty = await call('/v2/repository/index', { method: 'POST' });
    expect(empty.status).toBe(200);
    await expectError(await postJson('/v2/repository/index', { ready: 'yes' }), 400, /ready/);
  });
});

describe('upload and hot swap', () => {
  it('serves a new version by default while the old one stays reachable', async () => {
    const v1 = await probabilities(await inferIris('/v2/models/iris/infer'));
    expect(near(v1, reference.iris.probabilities.slice(0, 5).flat())).toBe(true);

    const upload = await put('iris', '2', irisV2);
    expect(upload.status).toBe(201);
    expect(upload.headers.get('Location')).toBe('/v2/models/iris/versions/2');

    const latest = await inferIris('/v2/models/iris/infer');
    expect(latest.headers.get('Model-Version')).toBe('2');
    expect(near(await probabilities(latest), reference.iris_v2.probabilities.flat())).toBe(true);
    const pinned = await inferIris('/v2/models/iris/versions/1/infer');
    expect(pinned.headers.get('Model-Version')).toBe('1');
    expect(near(await probabilities(pinned), v1)).toBe(true);

    const metadata = (await (await call('/v2/models/iris')).json()) as any;
    expect(metadata.versions).toEqual(['1', '2']);
    // The uploaded version inherits the labels of the one before it.
    expect(((await (await call('/v2/models/iris/versions/2/config')).json()) as any).labels).toEqual(['setosa', 'versicolor', 'virginica']);

    await expectError(await put('iris', '2', irisV2), 409, /immutable/);
    await expectError(await put('iris', '3', corrupt), 400, /cannot be loaded by ONNX Runtime/);
    expect((await inferIris('/v2/models/iris/infer')).headers.get('Model-Version')).toBe('2');
    await expectError(await call('/v2/models/iris/versions/3'), 404, /no version '3'/);
  });

  it('refuses uploads from non-admins, empty and oversized files, and bad names', async () => {
    await expectError(await put('iris', '5', irisV2, 'bob'), 403, /may not change the model repository/);
    await expectError(await put('iris', '5', new Uint8Array(0)), 400, /empty/);
    await expectError(await put('iris', 'two', irisV2), 400, /positive integer/);
    await expectError(await put('bad name!', '1', irisV2), 400, /model name/);
    await expectError(await put('iris', '5', new Uint8Array(32 * 1024 * 1024 + 1)), 413, /exceeds the limit/);
  });

  it("loads a version through Triton's load API with a config and a base64 file", async () => {
    const config = JSON.stringify({ labels: ['a', 'b', 'c'], max_batch_size: 8, description: 'renamed classes' });
    const response = await postJson('/v2/repository/models/flowers/load', { parameters: { config, 'file:1/model.onnx': base64(irisV2) } });
    expect(response.status).toBe(200);
    const classified = (await (
      await postJson('/v2/models/flowers/infer', {
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row(0) }],
        outputs: [{ name: 'probabilities', parameters: { classification: 1 } }],
      })
    ).json()) as any;
    expect(classified.outputs[0].data[0]).toMatch(/:0:a$/);
    await expectError(await postJson('/v2/repository/models/flowers/load', { parameters: { 'file:2/model.onnx': '%%%' } }), 400, /base64/);
    await expectError(await postJson('/v2/repository/models/flowers/load', { parameters: { config: '{', 'file:2/model.onnx': base64(irisV2) } }), 400, /parameters.config is not valid JSON/);
    await expectError(await postJson('/v2/repository/models/flowers/load', { parameters: { config: '{"max_batch_size": -1}', 'file:2/model.onnx': base64(irisV2) } }), 400, /max_batch_size/);
  });

  it('unloads and reloads a model', async () => {
    expect((await postJson('/v2/repository/models/iris/unload', {})).status).toBe(200);
    await expectError(await inferIris('/v2/models/iris/infer'), 404, /unloaded/);
    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    expect(index.find((m) => m.name === 'iris')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
    expect(((await (await postJson('/v2/repository/index', { ready: true })).json()) as any[]).some((m) => m.name === 'iris')).toBe(false);
    expect((await postJson('/v2/repository/models/iris/load', {})).status).toBe(200);
    expect((await inferIris('/v2/models/iris/infer')).status).toBe(200);
    await expectError(await postJson('/v2/repository/models/nope/unload', {}), 404, /not found/);
  });
});

describe('model cache', () => {
  const version = (name: string, buffer: ArrayBuffer): ModelVersion => ({
    name,
    version: '1',
    config: parseModelConfig({}, 'config'),
    size: buffer.byteLength,
    key: `${name}@1`,
    source: 'bundled',
    bytes: async () => new Uint8Array(buffer),
  });
  /** Loads without holding the model afterwards. */
  const load = (cache: ModelCache, v: ModelVersion) => cache.with(v, async (model) => model);

  it('evicts the least recently used model and releases it only when no request uses it', async () => {
    const [a, b, c] = [version('a', irisV2), version('b', irisV2), version('c', echo)];
    // Counted by file size alone (no per-session floor), so three tiny files exceed the budget.
    const cache = new ModelCache(irisV2.byteLength * 2 + echo.byteLength - 1, 0);
    await load(cache, a);
    await load(cache, b);
    const input = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row(0) }] };
    const whileInUse = await cache.with(a, async (model) => {
      await load(cache, b); // b is now more recent than a
      await load(cache, c); // over budget: a is the least recently used, but busy
      expect(cache.has(a)).toBe(false);
      return infer(model, input);
    });
    expect(whileInUse.response.outputs[0]!.shape).toEqual([1, 3]);
    expect([cache.has(a), cache.has(b), cache.has(c)]).toEqual([false, true, true]);
  });

  it('shares one load between concurrent callers and forgets a failed one', async () => {
    const cache = new ModelCache(1 << 20);
    const v = version('shared', irisV2);
    const models = await Promise.all(Array.from({ length: 8 }, () => load(cache, v)));
    expect(new Set(models.map((m) => m.session)).size).toBe(1);
    const broken = version('broken', corrupt);
    await expect(load(cache, broken)).rejects.toThrow(/cannot be loaded/);
    expect(cache.has(broken)).toBe(false);
  });
});
