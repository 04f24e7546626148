// A Triton user's repository: Triton's own example models, loaded from their config.pbtxt, give Triton's documented results.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import corrupt from './fixtures/models/corrupt.onnx';
import simpleModel from './fixtures/triton/simple/1/model.onnx';
import simpleConfig from './fixtures/triton/simple/config.pbtxt?raw';
import dynaModel from './fixtures/triton/simple_dyna_sequence/1/model.onnx';
import dynaConfig from './fixtures/triton/simple_dyna_sequence/config.pbtxt?raw';
import int8Model from './fixtures/triton/simple_int8/1/model.onnx';
import int8Config from './fixtures/triton/simple_int8/config.pbtxt?raw';
import sequenceModel from './fixtures/triton/simple_sequence/1/model.onnx';
import sequenceConfig from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import stringModel from './fixtures/triton/simple_string/1/model.onnx';
import stringConfig from './fixtures/triton/simple_string/config.pbtxt?raw';
import { binaryBody, bytesOf, call, expectError, postJson, readBinary } from './client';

const EXAMPLES = {
  simple: [simpleConfig, simpleModel],
  simple_int8: [int8Config, int8Model],
  simple_string: [stringConfig, stringModel],
  simple_sequence: [sequenceConfig, sequenceModel],
  simple_dyna_sequence: [dynaConfig, dynaModel],
} as const;

const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(Array.from(new Uint8Array(bytes), (b) => String.fromCharCode(b)).join(''));
const text = (value: string) => base64(new TextEncoder().encode(value));
const load = (name: string, parameters: Record<string, string> = {}) => postJson(`/v2/repository/models/${name}/load`, { parameters });
/** As a Triton user keeps it: the model folder's config.pbtxt and 1/model.onnx. */
const loadFolder = (name: string, config: string, model: ArrayBuffer) => load(name, { 'file:config.pbtxt': text(config), 'file:1/model.onnx': base64(model) });

const range = Array.from({ length: 16 }, (_, i) => i);
const ones = Array(16).fill(1);
const pair = (datatype: string, a: unknown[], b: unknown[], rows = 1) => ({
  inputs: [
    { name: 'INPUT0', shape: [rows, 16], datatype, data: a },
    { name: 'INPUT1', shape: [rows, 16], datatype, data: b },
  ],
});
const outputs = async (response: Response) => {
  const body = (await response.json()) as any;
  if (response.status !== 200) throw new Error(JSON.stringify(body));
  return Object.fromEntries(body.outputs.map((o: any) => [o.name, o])) as Record<string, { data: unknown[]; shape: number[]; datatype: string }>;
};

beforeAll(async () => {
  for (const [name, [config, model]] of Object.entries(EXAMPLES)) {
    const response = await loadFolder(name, config, model);
    if (response.status !== 200) throw new Error(`${name}: ${await response.text()}`);
  }
});

describe("Triton's example repository", () => {
  it('lists every example READY and reads dims without a value or a name as dynamic', async () => {
    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    for (const name of Object.keys(EXAMPLES)) expect(index).toContainEqual({ name, version: '1', state: 'READY', reason: '' });
    const metadata = (await (await call('/v2/models/simple')).json()) as any;
    expect(metadata.inputs).toEqual([
      { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
      { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
    ]);
    const config = (await (await call('/v2/models/simple/config')).json()) as any;
    expect(config).toMatchObject({ name: 'simple', platform: 'onnxruntime_onnx', max_batch_size: 8 });
    expect(config.input[0]).toMatchObject({ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] });
  });

  it('simple: sums and differences, in JSON and binary, up to max_batch_size', async () => {
    const out = await outputs(await postJson('/v2/models/simple/infer', pair('INT32', range, ones)));
    expect(out.OUTPUT0!.data).toEqual(range.map((i) => i + 1));
    expect(out.OUTPUT1!.data).toEqual(range.map((i) => i - 1));
    expect(out.OUTPUT0!.shape).toEqual([1, 16]);

    // As tritonclient sends it: INPUT0 in JSON, INPUT1 binary; OUTPUT0 binary, OUTPUT1 JSON.
    const header = {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: range },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
      ],
      outputs: [
        { name: 'OUTPUT0', parameters: { binary_data: true } },
        { name: 'OUTPUT1', parameters: { binary_data: false } },
      ],
    };
    const { body, headerLength } = binaryBody(header, [bytesOf(Int32Array.from(range, () => -1))]);
    const response = await call('/v2/models/simple/infer?test_1=1&test_2=2', {
      method: 'POST',
      body,
      headers: { 'Inference-Header-Content-Length': String(headerLength) },
    });
    const { header: json, rest } = await readBinary(response);
    expect(Array.from(new Int32Array(rest.slice().buffer))).toEqual(range.map((i) => i - 1));
    expect(json.outputs[1].data).toEqual(range.map((i) => i + 1));

    const eight = await outputs(await postJson('/v2/models/simple/infer', pair('INT32', Array(128).fill(2), Array(128).fill(3), 8)));
    expect(eight.OUTPUT0!.data).toEqual(Array(128).fill(5));
    await expectError(await postJson('/v2/models/simple/infer', pair('INT32', Array(144).fill(2), Array(144).fill(3), 9)), 400, /max_batch_size 8/);
  });

  it('simple_int8: the same in INT8', async () => {
    const out = await outputs(await postJson('/v2/models/simple_int8/infer', pair('INT8', range, Array(16).fill(-3))));
    expect(out.OUTPUT0!.data).toEqual(range.map((i) => i - 3));
    expect(out.OUTPUT1!.data).toEqual(range.map((i) => i + 3));
    expect(out.OUTPUT0!.datatype).toBe('INT8');
  });

  it('simple_string: numbers as strings, and refuses a NUL byte rather than cutting the string', async () => {
    const out = await outputs(await postJson('/v2/models/simple_string/infer', pair('BYTES', range.map(String), ones.map(String))));
    expect(out.OUTPUT0!.data).toEqual(range.map((i) => String(i + 1)));
    expect(out.OUTPUT1!.data).toEqual(range.map((i) => String(i - 1)));
    const withNul = range.map(String);
    withNul[3] = '3\u0000';
    await expectError(await postJson('/v2/models/simple_string/infer', pair('BYTES', withNul, ones.map(String))), 400, /NUL/);
  });

  it("answers in Triton's words where clients look for them", async () => {
    await expectError(await postJson('/v2/models/wrong_model_name/infer', pair('INT32', range, ones)), 404, /^Request for unknown model: 'wrong_model_name' is not found$/);
    await expectError(await call('/v2/models/wrong_model_name'), 404, /^Request for unknown model/);
    await expectError(await load('wrong_model_name'), 404, /failed to load 'wrong_model_name'/);
    await expectError(await load('simple', { config: '"parameters": {"config": {{"max_batch_size": "16"}}}' }), 400, /failed to load 'simple'/);
    await expectError(await postJson('/v2/systemsharedmemory/unregister', {}), 400, /shared memory is not supported/);
    // Errors go out uncompressed even to a client that accepts gzip: tritonclient reads them as plain JSON.
    const error = await call('/v2/models/wrong_model_name', { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    expect(error.headers.get('Content-Encoding')).toBe('identity');
    await expectError(await call('/v2/cudasharedmemory/status'), 400, /CUDA shared memory is not supported/);
  });

  it('replaces a config with a config-only load, numbers given as strings', async () => {
    expect((await load('simple', { config: '{"max_batch_size":"16"}' })).status).toBe(200);
    const config = (await (await call('/v2/models/simple/config')).json()) as any;
    expect(config.max_batch_size).toBe(16);
    const sixteen = await postJson('/v2/models/simple/infer', pair('INT32', Array(16 * 16).fill(1), Array(16 * 16).fill(1), 16));
    expect(sixteen.status).toBe(200);
    // Back to the folder's own config.
    expect((await load('simple', { 'file:config.pbtxt': text(simpleConfig) })).status).toBe(200);
    expect(((await (await call('/v2/models/simple/config')).json()) as any).max_batch_size).toBe(8);
  });
});

describe('configs checked against the graph', () => {
  const rename = (config: string, from: string, to: string) => config.replace(`name: "${from}"`, `name: "${to}"`);

  it('refuses a config naming an input the model does not have, a wrong datatype or dims, or an unknown field', async () => {
    await expectError(await loadFolder('bad_input', rename(simpleConfig, 'INPUT1', 'INPUT9'), simpleModel), 400, /failed to load.*config input\[1\] 'INPUT9': the model has no input of that name/);
    await expectError(await loadFolder('bad_type', simpleConfig.replace('TYPE_INT32', 'TYPE_FP32'), simpleModel), 400, /config input\[0\] 'INPUT0': data_type TYPE_FP32 does not match the model's TYPE_INT32/);
    await expectError(await loadFolder('bad_dims', simpleConfig.replace('dims: [ 16 ]', 'dims: [ 15 ]'), simpleModel), 400, /dims \[15\] do not match the model's \[-1, 16\]/);
    await expectError(await loadFolder('bad_field', simpleConfig.replace('max_batch_size: 8', 'max_batch_sise: 8'), simpleModel), 400, /line \d+: unknown field 'max_batch_sise' in ModelConfig/);
    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    expect(index.some((m) => m.name.startsWith('bad_'))).toBe(false);
  });
});

describe('a repository synced straight into R2', () => {
  it('serves a synced model, and shows one that cannot load as UNAVAILABLE, never a 5xx', async () => {
    await env.MODELS.put('models/synced/config.pbtxt', rename(simpleConfig));
    await env.MODELS.put('models/synced/3/model.onnx', simpleModel);
    await env.MODELS.put('models/broken/config.pbtxt', simpleConfig.replace('name: "simple"', 'name: "broken"'));
    await env.MODELS.put('models/broken/1/model.onnx', corrupt);
    await env.MODELS.put('models/misspelt/config.pbtxt', 'max_batch_sise: 8');
    await env.MODELS.put('models/misspelt/1/model.onnx', simpleModel);

    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    expect(index).toContainEqual({ name: 'synced', version: '3', state: 'READY', reason: '' });
    const broken = index.find((m) => m.name === 'broken');
    expect(broken).toMatchObject({ version: '1', state: 'UNAVAILABLE' });
    expect(broken.reason).toMatch(/failed to load/);
    expect(index.find((m) => m.name === 'misspelt').reason).toMatch(/failed to load.*unknown field 'max_batch_sise'/);

    const out = await outputs(await postJson('/v2/models/synced/infer', pair('INT32', range, ones)));
    expect(out.OUTPUT0!.data).toEqual(range.map((i) => i + 1));
    await expectError(await postJson('/v2/models/broken/infer', pair('INT32', range, ones)), 400, /failed to load 'broken'/);
    expect((await call('/v2/models/broken/ready')).status).toBe(400);
  });

  function rename(config: string) {
    return config.replace('name: "simple"', 'name: "synced"');
  }
});

describe('version_policy', () => {
  it('serves the versions the policy names, as Triton does', async () => {
    const latest = simpleConfig.replace('max_batch_size: 8', 'max_batch_size: 8\nversion_policy: { latest { num_versions: 1 } }');
    const files = { 'file:config.pbtxt': text(latest), 'file:1/model.onnx': base64(simpleModel), 'file:2/model.onnx': base64(simpleModel) };
    expect((await load('policy', files)).status).toBe(200);
    expect(((await (await call('/v2/models/policy')).json()) as any).versions).toEqual(['2']);
    await expectError(await postJson('/v2/models/policy/versions/1/infer', pair('INT32', range, ones)), 404, /version 1 is not served/);
    expect((await postJson('/v2/models/policy/versions/2/infer', pair('INT32', range, ones))).status).toBe(200);

    const specific = simpleConfig.replace('max_batch_size: 8', 'max_batch_size: 8\nversion_policy: { specific { versions: [1] } }');
    expect((await load('policy', { 'file:config.pbtxt': text(specific) })).status).toBe(200);
    expect(((await (await call('/v2/models/policy')).json()) as any).versions).toEqual(['1']);
    const index = (await (await postJson('/v2/repository/index', {})).json()) as any[];
    expect(index.filter((m) => m.name === 'policy').map((m) => m.state)).toEqual(['READY', 'UNAVAILABLE']);
  });
});
