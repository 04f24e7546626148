// Tensor codecs: protocol JSON data and binary-extension bytes ⇄ ORT tensors.
import { DATATYPES, type DatatypeName } from './datatypes';
import { encodeStrings } from './bytes';
import { badRequest } from './errors';
import { fromHalfBits, toHalfBits } from './float16';
import { ort } from './ort';

type Tensor = ort.Tensor;

export const elementCount = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** Flattens row-major data given flat or nested to exactly the shape; nesting must match the shape. */
export function flattenData(name: string, data: unknown[], shape: readonly number[]): unknown[] {
  if (shape.length <= 1 || !data.some(Array.isArray)) return data;
  const flat: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string) => {
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw badRequest(`input '${name}': data${path} must be an array of ${shape[depth]} to match shape [${shape.join(', ')}]`);
    }
    if (depth === shape.length - 1) {
      for (const value of node) flat.push(value);
    } else {
      node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
    }
  };
  walk(data, 0, '');
  return flat;
}

/** The smallest magnitude that rounds to Infinity as FP32 (FLT_MAX plus half an ulp). */
const FP32_OVERFLOW = 3.4028235677973366e38;

const describe = (value: unknown) => (typeof value === 'string' ? `"${value.slice(0, 40)}"` : JSON.stringify(value) ?? String(value));

/** Converts JSON elements to an ORT tensor, checking every element's type and range. */
export function tensorFromJson(name: string, datatype: DatatypeName, shape: readonly number[], values: unknown[]): Tensor {
  const reject = (i: number, expected: string): never => {
    throw badRequest(`input '${name}': data[${i}] is ${describe(values[i])}, expected ${expected} for ${datatype}`);
  };
  const dims = [...shape];
  switch (datatype) {
    case 'BYTES': {
      // ONNX Runtime Web cuts strings at a NUL byte: refuse them rather than answer on a shorter string.
      values.forEach((v, i) => (typeof v === 'string' && !v.includes('\0')) || reject(i, 'a string without NUL bytes'));
      return new ort.Tensor('string', values as string[], dims);
    }
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      values.forEach((v, i) => (typeof v === 'boolean' ? (out[i] = v ? 1 : 0) : reject(i, 'true or false')));
      return new ort.Tensor('bool', out, dims);
    }
    case 'INT64':
    case 'UINT64': {
      const signed = datatype === 'INT64';
      const out = signed ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
      values.forEach((v, i) => {
        // Beyond 2^53 JSON numbers are already rounded: such values must travel as binary data.
        if (!Number.isSafeInteger(v) || (!signed && (v as number) < 0)) reject(i, 'an integer within ±2^53 (send larger values as binary data)');
        out[i] = BigInt(v as number);
      });
      return new ort.Tensor(DATATYPES[datatype].ort, out, dims);
    }
    case 'FP16': {
      const out = new Uint16Array(values.length);
      // Half precision rounds: a value past 65504 becomes Infinity, as casting to FP16 does.
      values.forEach((v, i) => (typeof v === 'number' ? (out[i] = toHalfBits(v)) : reject(i, 'a number')));
      return new ort.Tensor('float16', out, dims);
    }
    case 'FP32':
    case 'FP64': {
      // JSON cannot carry Infinity: a value that overflows (1e999, or 3.4e39 as FP32) is out of range, never
      // Infinity. One comparison per element on the hot path; the reason is worked out only for a bad one.
      const out = new DATATYPES[datatype].array(values.length);
      const limit = datatype === 'FP32' ? FP32_OVERFLOW : Infinity;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !(Math.abs(v) < limit)) {
          reject(i, typeof v !== 'number' ? 'a number' : Number.isFinite(v) ? `a number within the ${datatype} range` : 'a finite number');
        }
        out[i] = v as number;
      }
      return new ort.Tensor(DATATYPES[datatype].ort, out, dims);
    }
    default: {
      // Small integer types: a stored value that differs from the given one is out of range or not an integer.
      const out = new DATATYPES[datatype].array(values.length);
      values.forEach((v, i) => {
        out[i] = v as number;
        if (out[i] !== v) reject(i, 'an integer in range');
      });
      return new ort.Tensor(DATATYPES[datatype].ort, out, dims);
    }
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads binary-extension bytes (little-endian, row-major; BYTES as 4-byte length + bytes) into a tensor. */
export function tensorFromBinary(name: string, datatype: DatatypeName, shape: readonly number[], bytes: Uint8Array): Tensor {
  const count = elementCount(shape);
  const dims = [...shape];
  if (datatype === 'BYTES') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const strings: string[] = [];
    let offset = 0;
    while (offset < bytes.byteLength) {
      if (offset + 4 > bytes.byteLength) throw badRequest(`input '${name}': truncated BYTES length prefix at byte ${offset}`);
      const length = view.getUint32(offset, true);
      offset += 4;
      if (offset + length > bytes.byteLength) throw badRequest(`input '${name}': BYTES element ${strings.length} runs past the end of its binary data`);
      try {
        strings.push(utf8Decoder.decode(bytes.subarray(offset, offset + length)));
      } catch {
        throw badRequest(`input '${name}': BYTES element ${strings.length} is not valid UTF-8`);
      }
      offset += length;
    }
    const cut = strings.findIndex((text) => text.includes('\0'));
    if (cut >= 0) throw badRequest(`input '${name}': BYTES element ${cut} contains a NUL byte, which ONNX Runtime Web cannot carry`);
    if (strings.length !== count) throw badRequest(`input '${name}': binary data holds ${strings.length} BYTES elements, shape [${dims.join(', ')}] needs ${count}`);
    return new ort.Tensor('string', strings, dims);
  }
  const { size, array, ort: type } = DATATYPES[datatype];
  if (bytes.byteLength !== count * size) {
    throw badRequest(`input '${name}': binary data is ${bytes.byteLength} bytes, shape [${dims.join(', ')}] of ${datatype} needs ${count * size}`);
  }
  const buffer = bytes.slice().buffer; // aligned copy
  if (datatype === 'BOOL' && new Uint8Array(buffer).some((b) => b > 1)) throw badRequest(`input '${name}': BOOL bytes must be 0 or 1`);
  const data = new (array as unknown as new (b: ArrayBuffer) => Tensor['data'])(buffer);
  return new ort.Tensor(type, data as never, dims);
}

/** Tensor elements as JSON values; 64-bit integers beyond 2^53 are written as exact JSON numbers. */
export function tensorToJson(datatype: DatatypeName, tensor: Tensor): unknown[] {
  const data = tensor.data;
  switch (datatype) {
    case 'BYTES':
      return data as string[];
    case 'BOOL':
      return Array.from(data as Uint8Array, (b) => b !== 0);
    case 'FP16':
      return Array.from(new Uint16Array((data as Uint16Array).buffer, (data as Uint16Array).byteOffset, data.length), fromHalfBits);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array, (v) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : JSON.rawJSON(v.toString());
      });
    default:
      return Array.from(data as Float32Array);
  }
}

/** Tensor elements as binary-extension bytes. */
export function tensorToBinary(datatype: DatatypeName, tensor: Tensor): Uint8Array {
  if (datatype === 'BYTES') return encodeStrings(tensor.data as string[]);
  const data = tensor.data as Uint8Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
