// Triton's sequence batcher: simple_sequence and simple_dyna_sequence from their config.pbtxt give Triton's own example outputs.
import { beforeAll, describe, expect, it } from 'vitest';
import dynaModel from './fixtures/triton/simple_dyna_sequence/1/model.onnx';
import dynaConfig from './fixtures/triton/simple_dyna_sequence/config.pbtxt?raw';
import sequenceModel from './fixtures/triton/simple_sequence/1/model.onnx';
import sequenceConfig from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import { binaryBody, bytesOf, call, expectError, postJson, readBinary } from './client';

const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(Array.from(new Uint8Array(bytes), (b) => String.fromCharCode(b)).join(''));
const text = (value: string) => base64(new TextEncoder().encode(value));

// Triton's simple_http_sequence_sync_infer_client.py: two sequences fed these values, the second negated after 100.
const VALUES = [11, 7, 5, 3, 2, 0, 1];
const inputsA = [0, ...VALUES];
const inputsB = [100, ...VALUES.map((v) => -v)];

/** One step as tritonclient sends it: INPUT as binary INT32 [1, 1], OUTPUT asked for as binary. */
async function step(model: string, sequenceId: number | string, value: number, start: boolean, end: boolean): Promise<number> {
  const header = {
    inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', parameters: { binary_data_size: 4 } }],
    outputs: [{ name: 'OUTPUT', parameters: { binary_data: true } }],
    parameters: { sequence_id: sequenceId, sequence_start: start, sequence_end: end },
  };
  const { body, headerLength } = binaryBody(header, [bytesOf(Int32Array.of(value))]);
  const response = await call(`/v2/models/${model}/infer`, { method: 'POST', body, headers: { 'Inference-Header-Content-Length': String(headerLength) } });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  const { rest } = await readBinary(response);
  return new Int32Array(rest.slice().buffer)[0]!;
}

/** Two sequences interleaved request by request, as Triton's example does. */
async function interleaved(model: string, idA: number | string, idB: number | string): Promise<[number[], number[]]> {
  const [a, b]: [number[], number[]] = [[], []];
  for (let i = 0; i < inputsA.length; i++) {
    const [start, end] = [i === 0, i === inputsA.length - 1];
    a.push(await step(model, idA, inputsA[i]!, start, end));
    b.push(await step(model, idB, inputsB[i]!, start, end));
  }
  return [a, b];
}

beforeAll(async () => {
  for (const [name, config, model] of [
    ['simple_sequence', sequenceConfig, sequenceModel],
    ['simple_dyna_sequence', dynaConfig, dynaModel],
  ] as const) {
    const response = await postJson(`/v2/repository/models/${name}/load`, { parameters: { 'file:config.pbtxt': text(config), 'file:1/model.onnx': base64(model) } });
    if (response.status !== 200) throw new Error(`${name}: ${await response.text()}`);
  }
});

describe("Triton's sequence models", () => {
  it('simple_sequence: each output is READY × (INPUT + START)', async () => {
    const [a, b] = await interleaved('simple_sequence', 1000, 1001);
    expect(a).toEqual([1, 11, 7, 5, 3, 2, 0, 1]);
    expect(b).toEqual([101, -11, -7, -5, -3, -2, 0, -1]);
  });

  it('simple_dyna_sequence: the correlation id is added on the last request', async () => {
    const [a, b] = await interleaved('simple_dyna_sequence', 1000, 1001);
    expect(a).toEqual([1, 11, 7, 5, 3, 2, 0, 1001]);
    expect(b).toEqual([101, -11, -7, -5, -3, -2, 0, 1000]);
  });

  it('keeps integer and string ids apart', async () => {
    const [a, b] = await interleaved('simple_sequence', 7, '7');
    expect(a).toEqual([1, 11, 7, 5, 3, 2, 0, 1]);
    expect(b).toEqual([101, -11, -7, -5, -3, -2, 0, -1]);
  });

  it('hides the control inputs and fills them: a client never sends them', async () => {
    const metadata = (await (await call('/v2/models/simple_dyna_sequence')).json()) as any;
    expect(metadata.inputs).toEqual([{ name: 'INPUT', datatype: 'INT32', shape: [-1, 1] }]);
    const config = (await (await call('/v2/models/simple_dyna_sequence/config')).json()) as any;
    expect(config.input.map((i: any) => i.name)).toEqual(['INPUT']);
    expect(config.sequence_batching.control_input.map((c: any) => c.name)).toEqual(['START', 'END', 'READY', 'CORRID']);

    const input = (extra: object = {}) => ({ inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }], ...extra });
    await expectError(await postJson('/v2/models/simple_sequence/infer', input()), 400, /must specify a non-zero or non-empty correlation ID/);
    await expectError(
      await postJson('/v2/models/simple_sequence/infer', input({ parameters: { sequence_id: 55 } })),
      400,
      /sequence 55 is not active.*must specify the START flag on the first request of the sequence/,
    );
    const startSent = { inputs: [...input().inputs, { name: 'START', shape: [1, 1], datatype: 'INT32', data: [1] }], parameters: { sequence_id: 56, sequence_start: true } };
    await expectError(await postJson('/v2/models/simple_sequence/infer', startSent), 400, /'START' is sequence state that the server carries/);
    await expectError(
      await postJson('/v2/models/simple_dyna_sequence/infer', input({ parameters: { sequence_id: 'abc', sequence_start: true } })),
      400,
      /correlation id as UINT64: parameters.sequence_id must be an integer/,
    );
    const two = { inputs: [{ name: 'INPUT', shape: [2, 1], datatype: 'INT32', data: [1, 2] }], parameters: { sequence_id: 57, sequence_start: true } };
    await expectError(await postJson('/v2/models/simple_sequence/infer', two), 400, /must specify batch-size 1/);
  });

  it('keeps the config a sequence started with when the model config is replaced', async () => {
    expect(await step('simple_dyna_sequence', 4242, 5, true, false)).toBe(6);
    // A config without sequence_batching: new requests see a plain model, the running sequence keeps its controls.
    const plain = dynaConfig.slice(0, dynaConfig.indexOf('sequence_batching')) + dynaConfig.slice(dynaConfig.indexOf('\ninput ['));
    const replaced = await postJson('/v2/repository/models/simple_dyna_sequence/load', { parameters: { 'file:config.pbtxt': text(plain) } });
    // Without the sequence batcher the controls are plain inputs again, so the new config is valid.
    expect([replaced.status, await replaced.text()]).toEqual([200, '{}']);
    expect(await step('simple_dyna_sequence', 4242, 5, false, true)).toBe(5 + 4242);
    await expectError(await postJson('/v2/models/simple_dyna_sequence/infer', { inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }], parameters: { sequence_id: 9, sequence_start: true } }), 400, /not a sequence model/);
    const restored = await postJson('/v2/repository/models/simple_dyna_sequence/load', { parameters: { 'file:config.pbtxt': text(dynaConfig) } });
    expect(restored.status).toBe(200);
  });
});
