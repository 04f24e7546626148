// Hardening: what a client or an admin sends cannot take down serving or be answered wrongly.
import { describe, expect, it } from 'vitest';
import irisV2 from './fixtures/models/iris-v2.onnx';
import { call, expectError, postJson } from './client';

const IRIS = '/v2/models/iris/versions/1/infer';
const rawJson = (body: string) => call(IRIS, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
const irisRow = (row: number[]) => ({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] });

describe('hardening', () => {
  it('refuses FP32 values outside the FP32 range instead of reading them as Infinity', async () => {
    await expectError(await rawJson('{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1e999,1,1,1]}]}'), 400, /data\[0\].*finite number/);
    await expectError(await rawJson('{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,3.4e39,1,1]}]}'), 400, /data\[1\].*within the FP32 range/);
    expect((await rawJson('{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,3.4e38,1,1]}]}')).status).toBe(200);
  });

  it('refuses classification of an output without a class dimension', async () => {
    await expectError(await postJson(IRIS, { ...irisRow([1, 2, 3, 4]), outputs: [{ name: 'label', parameters: { classification: 1 } }] }), 400, /class dimension/);
  });

  it('refuses over-long keys without hashing and remembering them', async () => {
    await expectError(await call('/v2', { as: null, headers: { Authorization: `Bearer ${'k'.repeat(10_000)}` } }), 401, /longer than 256/);
    await expectError(await call('/v2', { as: null, headers: { Authorization: 'Bearer not-a-key' } }), 401, /invalid API key/);
  });

  it('keeps serving other consumers, never a 5xx, while an admin churns the repository', async () => {
    const base64 = btoa(Array.from(new Uint8Array(irisV2), (b) => String.fromCharCode(b)).join(''));
    const churn = (async () => {
      for (let i = 1; i <= 6; i++) {
        await postJson(`/v2/repository/models/churn${i}/load`, { parameters: { 'file:1/model.onnx': base64 } });
        await postJson(`/v2/repository/models/churn${i}/unload`, {});
        await postJson('/v2/repository/index', {});
      }
    })();
    const infers = Array.from({ length: 60 }, (_, i) => postJson(IRIS, irisRow([5.1, 3.5, 1.4, 0.2]), i % 2 ? 'bob' : 'alice'));
    const [responses] = await Promise.all([Promise.all(infers), churn]);
    expect(responses.map((r) => r.status)).toEqual(Array(60).fill(200));
  });
});

describe('compressed bodies', () => {
  /** `megabytes` MiB of zeros, gzipped as a stream: about 1 KiB of gzip per MiB. */
  async function gzipBomb(megabytes: number): Promise<Uint8Array> {
    const zeros = new Uint8Array(1 << 20);
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < megabytes) controller.enqueue(zeros);
        else controller.close();
      },
    });
    return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
  }

  it('answers 413 for a small chunked gzip body that inflates past the limit, and keeps serving', async () => {
    const bomb = await gzipBomb(256);
    expect(bomb.byteLength).toBeLessThan(1 << 20);
    // No Content-Length: the body streams in 64 KiB pieces, so only the inflated size can refuse it.
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bomb.byteLength) return controller.close();
        controller.enqueue(bomb.slice(at, (at += 64 * 1024)));
      },
    });
    const response = await call(IRIS, { method: 'POST', body, headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' }, duplex: 'half' } as RequestInit);
    await expectError(response, 413, /decompressed request body exceeds the limit/);
    expect((await postJson(IRIS, irisRow([5.1, 3.5, 1.4, 0.2]))).status).toBe(200);
  });
});

describe('concurrent uploads of one new version', () => {
  it('commits exactly one, never a corrupt one, and keeps its config', async () => {
    const put = (body: ArrayBuffer | Uint8Array, config: string) =>
      postJson('/v2/repository/models/raced/load', {
        parameters: {
          'file:7/model.onnx': btoa(Array.from(new Uint8Array(body), (b) => String.fromCharCode(b)).join('')),
          'file:7/config.json': btoa(config),
        },
      });
    const corrupt = new Uint8Array(irisV2.byteLength).fill(7);
    const responses = await Promise.all([
      put(irisV2, '{"labels": ["a", "b", "c"]}'),
      put(corrupt, '{"labels": ["x", "y", "z"]}'),
      put(irisV2, '{"labels": ["p", "q", "r"]}'),
      put(irisV2, '{"labels": ["u", "v", "w"]}'),
    ]);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses[1]).toBe(400);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
    const winner = statuses.indexOf(200);
    const labels = [['a', 'b', 'c'], [], ['p', 'q', 'r'], ['u', 'v', 'w']][winner];
    expect(((await (await call('/v2/models/raced/versions/7/config')).json()) as any).labels).toEqual(labels);
    expect((await postJson('/v2/models/raced/infer', irisRow([5.1, 3.5, 1.4, 0.2]))).status).toBe(200);
  });
});
