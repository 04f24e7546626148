// The online API against bundled models: protocol shapes, numeric agreement with onnxruntime-node, every error path.
import { describe, expect, it } from 'vitest';
import irisConfig from '../models/iris/config.json';
import reference from './fixtures/reference.json';
import { binaryBody, bytesOf, call, expectError, postJson, readBinary } from './client';

const IRIS = '/v2/models/iris/infer';
const close = (actual: number[], expected: number[], tolerance = 1e-5) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tolerance));
};
const irisRequest = (rows: number[][], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
  ...extra,
});

describe('server', () => {
  it('answers health probes without a key', async () => {
    expect(await (await call('/v2/health/live', { as: null })).json()).toEqual({ live: true });
    const ready = await call('/v2/health/ready', { as: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('needs a valid key everywhere else', async () => {
    await expectError(await call('/v2', { as: null }), 401, /Authorization/);
    await expectError(await call('/v2/models/iris', { headers: { Authorization: 'Bearer nope' }, as: null }), 401, /invalid API key/);
    await expectError(await postJson(IRIS, irisRequest([[1, 2, 3, 4]])).then(() => call(IRIS, { method: 'POST', as: null })), 401, /Authorization/);
  });

  it('describes itself and its extensions', async () => {
    const body = (await (await call('/v2')).json()) as { name: string; version: string; extensions: string[] };
    expect(body.name).toBe('triton');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification', 'model_repository', 'model_configuration']));
  });

  it('answers unknown routes with a JSON 404', async () => {
    await expectError(await call('/v2/nothing/here'), 404, /no route for GET \/v2\/nothing\/here/);
  });
});

describe('model metadata', () => {
  it('reads names, datatypes and dynamic shapes from the ONNX graph', async () => {
    const response = await call('/v2/models/iris');
    expect(response.headers.get('Model-Version')).toBe('1');
    expect(await response.json()).toEqual({
      name: 'iris',
      versions: ['1'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    const mnist = (await (await call('/v2/models/fashion-mnist/versions/1')).json()) as { inputs: unknown[] };
    expect(mnist.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 784] }]);
  });

  it('reports readiness per model and version', async () => {
    expect(await (await call('/v2/models/iris/ready')).json()).toEqual({ name: 'iris', ready: true });
    expect(await (await call('/v2/models/iris/versions/1/ready')).json()).toEqual({ name: 'iris', ready: true });
    await expectError(await call('/v2/models/nope/ready'), 404, /^Request for unknown model: 'nope' is not found$/);
  });

  it('returns the model configuration in Triton form with the labels', async () => {
    const config = (await (await call('/v2/models/iris/config')).json()) as Record<string, any>;
    expect(config.name).toBe('iris');
    expect(config.labels).toEqual(irisConfig.labels);
    expect(config.max_batch_size).toBe(irisConfig.max_batch_size);
    expect(config.input).toEqual([{ name: 'input', data_type: 'TYPE_FP32', dims: [4], format: 'FORMAT_NONE', is_shape_tensor: false, allow_ragged_batch: false, optional: false }]);
    expect(config.output[1]).toEqual({ name: 'label', data_type: 'TYPE_INT64', dims: [], label_filename: '', is_shape_tensor: false });
  });

  it('answers 404 for unknown models and versions, 400 for malformed versions', async () => {
    await expectError(await call('/v2/models/nope'), 404, /^Request for unknown model: 'nope' is not found$/);
    await expectError(await call('/v2/models/iris/versions/7'), 404, /no version '7'.*versions: 1/);
    await expectError(await call('/v2/models/iris/versions/latest'), 400, /positive integer/);
    await expectError(await postJson('/v2/models/nope/infer', irisRequest([[1, 2, 3, 4]])), 404, /^Request for unknown model: 'nope' is not found$/);
  });
});

describe('inference', () => {
  it('matches onnxruntime-node on all 150 iris rows and the trained accuracy', async () => {
    const response = await postJson(IRIS, irisRequest(reference.iris.inputs, { id: 'batch-150' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('Model-Version')).toBe('1');
    expect(response.headers.get('Server-Timing')).toMatch(/^queue;dur=[\d.]+, infer;dur=[\d.]+, rest;dur=[\d.]+$/);
    const body = (await response.json()) as any;
    expect(body.model_name).toBe('iris');
    expect(body.model_version).toBe('1');
    expect(body.id).toBe('batch-150');
    const [probabilities, label] = body.outputs;
    expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [150, 3] });
    close(probabilities.data, reference.iris.probabilities.flat());
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [150] });
    expect(label.data).toEqual(reference.iris.label);
    const correct = label.data.filter((l: number, i: number) => l === reference.iris.labels[i]).length;
    expect(correct / 150).toBeCloseTo(irisConfig.training.accuracy, 3);
  });

  it('matches onnxruntime-node on Fashion-MNIST test images', async () => {
    const { inputs, probabilities } = reference.fashion_mnist;
    const body = (await (
      await postJson('/v2/models/fashion-mnist/infer', { inputs: [{ name: 'input', shape: [inputs.length, 784], datatype: 'FP32', data: inputs }] })
    ).json()) as any;
    close(body.outputs[0].data, probabilities.flat());
    expect(body.outputs[1].data).toEqual(reference.fashion_mnist.label);
  });

  it('accepts nested data as well as flat, and returns only the requested outputs', async () => {
    const rows = reference.iris.inputs.slice(0, 3);
    const nested = await postJson(IRIS, {
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: rows }],
      outputs: [{ name: 'label' }],
    });
    const body = (await nested.json()) as any;
    expect(body.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [3], data: reference.iris.label.slice(0, 3) }]);
    expect(body.id).toBeUndefined();
  });

  it('returns top-k classes with labels through the classification extension', async () => {
    const body = (await (
      await postJson(IRIS, irisRequest(reference.iris.inputs.slice(0, 2), { outputs: [{ name: 'probabilities', parameters: { classification: 2 } }] }))
    ).json()) as any;
    const [output] = body.outputs;
    expect(output).toMatchObject({ name: 'probabilities', datatype: 'BYTES', shape: [2, 2] });
    const [best] = output.data[0].split(':');
    const row = reference.iris.probabilities[0]!;
    expect(Number(best)).toBeCloseTo(Math.max(...row), 5);
    expect(output.data[0]).toMatch(new RegExp(`:${row.indexOf(Math.max(...row))}:${irisConfig.labels[row.indexOf(Math.max(...row))]}$`));
  });

  it('round-trips binary tensors in and out', async () => {
    const rows = reference.iris.inputs.slice(0, 5);
    const input = Float32Array.from(rows.flat());
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'input', shape: [5, 4], datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label' }],
      },
      [bytesOf(input)],
    );
    const response = await call(IRIS, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(headerLength) },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('application/octet-stream');
    const { header, rest } = await readBinary(response);
    expect(header.outputs[0]).toEqual({ name: 'probabilities', datatype: 'FP32', shape: [5, 3], parameters: { binary_data_size: 60 } });
    expect(header.outputs[1].data).toEqual(reference.iris.label.slice(0, 5));
    close(Array.from(new Float32Array(rest.slice().buffer)), reference.iris.probabilities.slice(0, 5).flat());
  });

  it('takes binary_data_output for every output', async () => {
    const response = await postJson(IRIS, irisRequest(reference.iris.inputs.slice(0, 2), { parameters: { binary_data_output: true } }));
    const { header, rest } = await readBinary(response);
    expect(header.outputs.map((o: any) => o.parameters.binary_data_size)).toEqual([24, 16]);
    expect(Array.from(new BigInt64Array(rest.slice(24).buffer), Number)).toEqual(reference.iris.label.slice(0, 2));
  });

  it('serves a raw binary request (header length 0) as one tensor', async () => {
    const input = Float32Array.from(reference.iris.inputs[0]!);
    const response = await call(IRIS, { method: 'POST', body: bytesOf(input), headers: { 'Inference-Header-Content-Length': '0' } });
    const { header, rest } = await readBinary(response);
    expect(header.outputs[0]).toMatchObject({ name: 'probabilities', shape: [1, 3] });
    close(Array.from(new Float32Array(rest.slice(0, 12).buffer)), reference.iris.probabilities[0]!);
  });
});

describe('bad input', () => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown input name', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /unknown input 'x'.*takes 'input'/],
    ['wrong datatype', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: [1, 2, 3, 4] }] }, /datatype FP64 does not match the model's FP32/],
    ['unknown datatype', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] }, /unknown datatype 'FLOAT'/],
    ['wrong rank', { inputs: [{ name: 'input', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /shape \[4\] does not match the model's \[-1, 4\]/],
    ['wrong fixed dimension', { inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }, /shape \[1, 5\]/],
    ['element count', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /4 elements given, shape \[2, 4\] needs 8/],
    ['ragged nesting', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [[1, 2, 3, 4], [5, 6, 7]] }] }, /data\[1\] must be an array of 4/],
    ['string element', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 'two', 3, 4] }] }, /data\[1\] is "two", expected a number for FP32/],
    ['null element', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, null, 3, 4] }] }, /data\[1\] is null/],
    ['missing data', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32' }] }, /data is missing/],
    ['duplicate input', { inputs: [0, 1].map(() => ({ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] })) }, /given twice/],
    ['no inputs', { inputs: [] }, /inputs: Too small/i],
    ['inputs not an array', { inputs: 'x' }, /inputs:/],
    ['negative dimension', { inputs: [{ name: 'input', shape: [-1, 4], datatype: 'FP32', data: [] }] }, /inputs\[0\]\.shape\[0\]/],
    ['unknown output', { ...irisRequest([[1, 2, 3, 4]]), outputs: [{ name: 'logits' }] }, /unknown output 'logits'.*'probabilities', 'label'/],
    ['bad classification', { ...irisRequest([[1, 2, 3, 4]]), outputs: [{ name: 'probabilities', parameters: { classification: 0 } }] }, /classification must be a positive integer/],
    ['bad binary_data flag', { ...irisRequest([[1, 2, 3, 4]]), outputs: [{ name: 'label', parameters: { binary_data: 'yes' } }] }, /binary_data must be true or false/],
    ['id not a string', { ...irisRequest([[1, 2, 3, 4]]), id: 42 }, /^request body: id:/],
    ['over max_batch_size', irisRequest(Array.from({ length: irisConfig.max_batch_size + 1 }, () => [1, 2, 3, 4])), /exceeds max_batch_size/],
  ];
  it.each(cases)('%s → 400 naming the field', async (_, body, pattern) => {
    await expectError(await postJson(IRIS, body), 400, pattern);
  });

  it('rejects a missing input, non-JSON and a non-object body', async () => {
    await expectError(await postJson('/v2/models/fashion-mnist/infer', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), 400, /shape \[1, 4\]/);
    await expectError(await call(IRIS, { method: 'POST', body: '{"inputs": [' }), 400, /not valid JSON/);
    await expectError(await call(IRIS, { method: 'POST', body: '' }), 400, /not valid JSON/);
    await expectError(await call(IRIS, { method: 'POST', body: '[1,2]' }), 400, /request body/);
  });

  it('rejects malformed binary bodies', async () => {
    const headers = (n: string) => ({ 'Inference-Header-Content-Length': n });
    await expectError(await call(IRIS, { method: 'POST', body: '{}', headers: headers('99') }), 400, /Inference-Header-Content-Length/);
    await expectError(await call(IRIS, { method: 'POST', body: '{}', headers: headers('-1') }), 400, /Inference-Header-Content-Length/);
    const short = binaryBody({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [new Uint8Array(12)]);
    await expectError(await call(IRIS, { method: 'POST', body: short.body, headers: headers(String(short.headerLength)) }), 400, /runs past the end/);
    const wrong = binaryBody({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }, [new Uint8Array(12)]);
    await expectError(await call(IRIS, { method: 'POST', body: wrong.body, headers: headers(String(wrong.headerLength)) }), 400, /12 bytes, shape \[1, 4\] of FP32 needs 16/);
    const extra = binaryBody({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [new Uint8Array(20)]);
    await expectError(await call(IRIS, { method: 'POST', body: extra.body, headers: headers(String(extra.headerLength)) }), 400, /4 bytes after/);
    await expectError(await call(IRIS, { method: 'POST', body: new Uint8Array(10), headers: headers('0') }), 400, /not a whole number of FP32 rows/);
  });

  it('refuses bodies over the limit before reading them: by Content-Length and while streaming', async () => {
    const big = new Uint8Array(8 * 1024 * 1024 + 1).fill(32);
    await expectError(await call(IRIS, { method: 'POST', body: big }), 413, /exceeds the limit of 8388608 bytes/);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 9; i++) controller.enqueue(new Uint8Array(1024 * 1024).fill(32));
        controller.close();
      },
    });
    await expectError(await call(IRIS, { method: 'POST', body: stream, duplex: 'half' } as RequestInit), 413, /exceeds the limit/);
  });

  it('takes gzip and deflate bodies, and bounds what they decompress to', async () => {
    const compress = (text: string, format: 'gzip' | 'deflate') => new Response(new Blob([text]).stream().pipeThrough(new CompressionStream(format))).arrayBuffer();
    const request = JSON.stringify(irisRequest([reference.iris.inputs[0]!]));
    for (const format of ['gzip', 'deflate'] as const) {
      const response = await call(IRIS, { method: 'POST', body: await compress(request, format), headers: { 'Content-Encoding': format } });
      const body = (await response.json()) as any;
      expect(body.outputs[1].data).toEqual([reference.iris.label[0]]);
    }
    await expectError(await call(IRIS, { method: 'POST', body: 'not gzip', headers: { 'Content-Encoding': 'gzip' } }), 400, /not valid gzip/);
    await expectError(await call(IRIS, { method: 'POST', body: request, headers: { 'Content-Encoding': 'br' } }), 415, /'br' is not supported/);
    const bomb = await compress(' '.repeat(9 * 1024 * 1024), 'gzip');
    expect(bomb.byteLength).toBeLessThan(100_000);
    await expectError(await call(IRIS, { method: 'POST', body: bomb, headers: { 'Content-Encoding': 'gzip' } }), 413, /decompressed request body exceeds/);
  });

  it('keeps serving after every bad request', async () => {
    const response = await postJson(IRIS, irisRequest([reference.iris.inputs[0]!]));
    expect(response.status).toBe(200);
  });
});
