// Typed arrays ⇄ Triton's binary tensor extension (and the protocol's JSON data), on the client side.
// Binary data is little-endian row-major, as the extension says; BYTES elements are a 4-byte length then UTF-8.
import { encodeStrings } from '../src/runtime/bytes.ts';
import { fromHalfBits, toHalfBits } from '../src/runtime/float16.ts';
import type { Parameters } from '../src/runtime/protocol';

/** The array each datatype travels as: BOOL as 0/1 bytes, FP16 as its 16-bit patterns, BYTES as strings. */
export interface TensorArrays {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: string[];
}
export type Datatype = keyof TensorArrays;
export type TensorData = TensorArrays[Datatype];

/** A tensor: narrowing on `datatype` narrows `data`. */
export type Tensor = { [D in Datatype]: { name: string; datatype: D; shape: number[]; data: TensorArrays[D]; parameters?: Parameters } }[Datatype];

/** An input: `datatype` may be left out when the array says it (Float32Array is FP32, string[] BYTES, boolean[] BOOL...). */
export interface TensorInput {
  name: string;
  shape: number[];
  datatype?: Datatype;
  data: TensorData | boolean[];
  parameters?: Parameters;
}

type NumericDatatype = Exclude<Datatype, 'BYTES'>;
type ArrayConstructor = { new (buffer: ArrayBuffer): Exclude<TensorData, string[]>; new (length: number): Exclude<TensorData, string[]>; BYTES_PER_ELEMENT: number };

const ARRAYS: Record<NumericDatatype, ArrayConstructor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

const decoder = new TextDecoder();

/** The datatype of an input: given, or read from the kind of array. */
export function datatypeOf(input: TensorInput): Datatype {
  if (input.datatype) return input.datatype;
  const { data } = input;
  if (Array.isArray(data)) {
    if (data.every((v) => typeof v === 'boolean')) return 'BOOL';
    if (data.every((v) => typeof v === 'string')) return 'BYTES';
    throw new TypeError(`input '${input.name}': a plain array must hold only strings (BYTES) or booleans (BOOL)`);
  }
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof Int8Array) return 'INT8';
  if (data instanceof Int16Array) return 'INT16';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof Uint8Array) return 'UINT8';
  if (data instanceof Uint16Array) return 'UINT16';
  if (data instanceof Uint32Array) return 'UINT32';
  if (data instanceof BigUint64Array) return 'UINT64';
  throw new TypeError(`input '${input.name}': cannot tell the datatype of this data; give "datatype"`);
}

function checkArray(name: string, datatype: Datatype, data: TensorInput['data']): void {
  if (datatype === 'BYTES') {
    if (!Array.isArray(data) || !data.every((v) => typeof v === 'string')) throw new TypeError(`input '${name}': BYTES data must be string[]`);
    return;
  }
  if (datatype === 'BOOL' && Array.isArray(data) && data.every((v) => typeof v === 'boolean')) return;
  const Expected = ARRAYS[datatype];
  if (!(data instanceof Expected)) throw new TypeError(`input '${name}': ${datatype} data must be a ${Expected.name}`);
}

/** The extension's bytes for one input's data. */
export function tensorBytes(name: string, datatype: Datatype, data: TensorInput['data']): Uint8Array {
  checkArray(name, datatype, data);
  if (datatype === 'BYTES') return encodeStrings(data as string[]);
  if (Array.isArray(data)) return Uint8Array.from(data as boolean[], (b) => (b ? 1 : 0));
  const view = data as Exclude<TensorData, string[]>;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** One output's data from the extension's bytes. */
export function tensorFromBytes(name: string, datatype: Datatype, shape: number[], bytes: Uint8Array): TensorData {
  if (datatype === 'BYTES') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const strings: string[] = [];
    for (let offset = 0; offset < bytes.byteLength; ) {
      if (offset + 4 > bytes.byteLength) throw new Error(`output '${name}': truncated BYTES length prefix`);
      const length = view.getUint32(offset, true);
      offset += 4;
      if (offset + length > bytes.byteLength) throw new Error(`output '${name}': BYTES element runs past its binary data`);
      strings.push(decoder.decode(bytes.subarray(offset, offset + length)));
      offset += length;
    }
    return strings;
  }
  const Array_ = ARRAYS[datatype];
  if (!Array_) throw new Error(`output '${name}': unknown datatype ${datatype}`);
  const count = shape.reduce((n, d) => n * d, 1);
  if (bytes.byteLength !== count * Array_.BYTES_PER_ELEMENT) {
    throw new Error(`output '${name}': ${bytes.byteLength} bytes of binary data, shape [${shape.join(', ')}] of ${datatype} needs ${count * Array_.BYTES_PER_ELEMENT}`);
  }
  // slice(): an aligned copy that owns its buffer.
  return new Array_(bytes.slice().buffer as ArrayBuffer);
}

/** JSON `data` for an input (the JSON path of inferTensors); 64-bit integers must be within ±2^53. */
export function tensorJson(name: string, datatype: Datatype, data: TensorInput['data']): unknown[] {
  checkArray(name, datatype, data);
  if (datatype === 'BYTES') return data as string[];
  if (datatype === 'BOOL') return Array.from(data as ArrayLike<number | boolean>, (v) => Boolean(v));
  if (datatype === 'FP16') return Array.from(data as Uint16Array, fromHalfBits);
  if (datatype === 'INT64' || datatype === 'UINT64') {
    return Array.from(data as BigInt64Array, (v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n)) throw new RangeError(`input '${name}': ${v} is beyond ±2^53, which JSON cannot carry; send it as binary data`);
      return n;
    });
  }
  return Array.from(data as Float32Array);
}

/** An output's JSON `data` as the datatype's array. */
export function tensorFromJson(name: string, datatype: Datatype, data: unknown[]): TensorData {
  const flat = data.flat(Infinity);
  switch (datatype) {
    case 'BYTES':
      return flat.map(String);
    case 'BOOL':
      return Uint8Array.from(flat, (v) => (v ? 1 : 0));
    case 'FP16':
      return Uint16Array.from(flat as number[], toHalfBits);
    case 'INT64':
      return BigInt64Array.from(flat as number[], (v) => BigInt(v));
    case 'UINT64':
      return BigUint64Array.from(flat as number[], (v) => BigInt(v));
    default: {
      const Array_ = ARRAYS[datatype];
      if (!Array_) throw new Error(`output '${name}': unknown datatype ${datatype}`);
      const out = new Array_(flat.length) as Float32Array;
      flat.forEach((v, i) => (out[i] = v as number));
      return out;
    }
  }
}

