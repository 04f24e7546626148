// The one table of tensor datatypes: protocol name ⇄ ORT type, element size, typed array.
import type { ort } from './ort';

type OrtType = ort.Tensor.Type;

interface Datatype {
  readonly ort: OrtType;
  /** Bytes per element in the binary extension; BYTES elements are length-prefixed instead. */
  readonly size: number;
  readonly array?: new (length: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint };
}

export const DATATYPES = {
  BOOL: { ort: 'bool', size: 1, array: Uint8Array },
  UINT8: { ort: 'uint8', size: 1, array: Uint8Array },
  UINT16: { ort: 'uint16', size: 2, array: Uint16Array },
  UINT32: { ort: 'uint32', size: 4, array: Uint32Array },
  UINT64: { ort: 'uint64', size: 8, array: BigUint64Array },
  INT8: { ort: 'int8', size: 1, array: Int8Array },
  INT16: { ort: 'int16', size: 2, array: Int16Array },
  INT32: { ort: 'int32', size: 4, array: Int32Array },
  INT64: { ort: 'int64', size: 8, array: BigInt64Array },
  FP16: { ort: 'float16', size: 2, array: Uint16Array },
  FP32: { ort: 'float32', size: 4, array: Float32Array },
  FP64: { ort: 'float64', size: 8, array: Float64Array },
  BYTES: { ort: 'string', size: 0 },
} as const satisfies Record<string, Datatype>;

export type DatatypeName = keyof typeof DATATYPES;

const BY_ORT = new Map<string, DatatypeName>(
  Object.entries(DATATYPES).map(([name, { ort }]) => [ort, name as DatatypeName]),
);

export function isDatatype(name: string): name is DatatypeName {
  return Object.hasOwn(DATATYPES, name);
}

/** The protocol name of an ORT element type, or undefined for types the protocol cannot carry. */
export function datatypeOfOrt(type: string): DatatypeName | undefined {
  return BY_ORT.get(type);
}
