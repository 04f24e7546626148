// Every protocol datatype through an Identity model, as JSON and as binary tensor data.
import { beforeAll, describe, expect, it } from 'vitest';
import echo from './fixtures/models/echo.onnx';
import { binaryBody, bytesOf, call, expectError, postJson, readBinary } from './client';

const INFER = '/v2/models/echo/infer';

beforeAll(async () => {
  const response = await call('/v2/repository/models/echo/versions/1/model.onnx', { method: 'PUT', body: echo });
  expect(response.status).toBe(201);
});

const SAMPLES: Record<string, unknown[]> = {
  FP32: [1.5, -2.25, 2 ** 40, 0],
  FP64: [Math.PI, -1e-300, 1e300, 0.1],
  FP16: [1, -2.5, 65504, 0.0009765625],
  INT8: [-128, 127, 0, 5],
  INT16: [-32768, 32767, 1, -1],
  INT32: [-2147483648, 2147483647, 7, 0],
  INT64: [-9007199254740991, 9007199254740991, 42, -1],
  UINT8: [0, 255, 1, 128],
  UINT16: [0, 65535, 2, 300],
  UINT32: [0, 4294967295, 3, 70000],
  UINT64: [0, 9007199254740991, 4, 5],
  BOOL: [true, false, false, true],
  BYTES: ['plain', 'ünïcödé ✓', '', 'comma,quote"'],
};

const nameOf = (datatype: string) => `in_${datatype === 'BYTES' ? 'bytes' : datatype.toLowerCase()}`;

/** The echo model needs every input: `input` replaces the one of its datatype, the rest get sample data. */
const withOthers = (input: { datatype: string } & Record<string, unknown>) =>
  Object.entries(SAMPLES).map(([datatype, data]) =>
    datatype === input.datatype ? { name: nameOf(datatype), ...input } : { name: nameOf(datatype), shape: [2, 2], datatype, data },
  );

describe('JSON tensors', () => {
  it.each(Object.entries(SAMPLES))('%s round-trips exactly', async (datatype, data) => {
    const response = await postJson(INFER, {
      inputs: withOthers({ shape: [2, 2], datatype, data }),
      outputs: [{ name: nameOf(datatype).replace('in_', 'out_') }],
    });
    const body = (await response.json()) as any;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs[0]).toEqual({ name: nameOf(datatype).replace('in_', 'out_'), datatype, shape: [2, 2], data });
  });

  it('rounds FP16 to the nearest half', async () => {
    const body = (await (await postJson(INFER, { inputs: withOthers({ shape: [2, 2], datatype: 'FP16', data: [0.1, 100000, 1, 1] }), outputs: [{ name: 'out_fp16' }] })).json()) as any;
    expect(body.outputs[0].data).toEqual([0.0999755859375, null, 1, 1]); // 100000 overflows to Infinity, which JSON writes as null
  });

  it.each([
    ['INT8', 128, /expected an integer in range for INT8/],
    ['UINT8', -1, /expected an integer in range for UINT8/],
    ['INT32', 1.5, /expected an integer in range for INT32/],
    ['UINT32', 4294967296, /expected an integer in range/],
    ['INT64', 2 ** 60, /within ±2\^53.*binary/],
    ['UINT64', -1, /within ±2\^53/],
    ['BOOL', 1, /expected true or false/],
    ['BYTES', 7, /expected a string/],
    ['FP64', '1.0', /expected a number/],
  ])('%s rejects %s', async (datatype, value, pattern) => {
    await expectError(await postJson(INFER, { inputs: withOthers({ shape: [2, 2], datatype, data: [value, ...SAMPLES[datatype]!.slice(1)] }) }), 400, pattern);
  });
});

describe('binary tensors', () => {
  const typed: [string, ArrayBufferView][] = [
    ['FP32', Float32Array.of(1.5, -2, 3, 4)],
    ['FP64', Float64Array.of(Math.E, 2, 3, 4)],
    ['INT64', BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 0n)],
    ['UINT64', BigUint64Array.of(2n ** 64n - 1n, 1n, 2n, 3n)],
    ['INT8', Int8Array.of(-128, 127, 0, 1)],
    ['UINT16', Uint16Array.of(65535, 0, 1, 2)],
    ['FP16', Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001)],
    ['BOOL', Uint8Array.of(1, 0, 0, 1)],
  ];
  it.each(typed)('%s round-trips bit for bit', async (datatype, view) => {
    const bytes = bytesOf(view);
    const { body, headerLength } = binaryBody(
      {
        inputs: withOthers({ shape: [2, 2], datatype, parameters: { binary_data_size: bytes.byteLength } }),
        outputs: [{ name: nameOf(datatype).replace('in_', 'out_'), parameters: { binary_data: true } }],
      },
      [bytes],
    );
    const response = await call(INFER, { method: 'POST', body, headers: { 'Inference-Header-Content-Length': String(headerLength) } });
    const { header, rest } = await readBinary(response);
    expect(header.outputs[0]).toMatchObject({ datatype, shape: [2, 2], parameters: { binary_data_size: bytes.byteLength } });
    expect(Array.from(rest)).toEqual(Array.from(bytes));
  });

  it('BYTES travel as length-prefixed UTF-8', async () => {
    const strings = ['a', 'ünï', '', 'x'.repeat(300)];
    const parts = strings.map((s) => new TextEncoder().encode(s));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      new DataView(bytes.buffer).setUint32(offset, p.byteLength, true);
      bytes.set(p, offset + 4);
      offset += 4 + p.byteLength;
    }
    const { body, headerLength } = binaryBody(
      { inputs: withOthers({ shape: [2, 2], datatype: 'BYTES', parameters: { binary_data_size: bytes.byteLength } }), outputs: [{ name: 'out_bytes' }] },
      [bytes],
    );
    const response = await call(INFER, { method: 'POST', body, headers: { 'Inference-Header-Content-Length': String(headerLength) } });
    expect(((await response.json()) as any).outputs[0].data).toEqual(strings);
  });

  it('writes 64-bit integers beyond 2^53 exactly in JSON', async () => {
    const values = BigInt64Array.of(2n ** 62n + 1n, -(2n ** 62n) - 3n, 1n, 2n);
    const { body, headerLength } = binaryBody(
      { inputs: withOthers({ shape: [2, 2], datatype: 'INT64', parameters: { binary_data_size: 32 } }), outputs: [{ name: 'out_int64' }] },
      [bytesOf(values)],
    );
    const text = await (await call(INFER, { method: 'POST', body, headers: { 'Inference-Header-Content-Length': String(headerLength) } })).text();
    expect(text).toContain('"data":[4611686018427387905,-4611686018427387907,1,2]');
  });

  it('rejects BOOL bytes other than 0 and 1, and invalid UTF-8', async () => {
    const bool = binaryBody({ inputs: withOthers({ shape: [1, 1], datatype: 'BOOL', parameters: { binary_data_size: 1 } }) }, [Uint8Array.of(7)]);
    await expectError(await call(INFER, { method: 'POST', body: bool.body, headers: { 'Inference-Header-Content-Length': String(bool.headerLength) } }), 400, /0 or 1/);
    const utf = binaryBody({ inputs: withOthers({ shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: 6 } }) }, [Uint8Array.of(2, 0, 0, 0, 0xff, 0xfe)]);
    await expectError(await call(INFER, { method: 'POST', body: utf.body, headers: { 'Inference-Header-Content-Length': String(utf.headerLength) } }), 400, /not valid UTF-8/);
  });
});
