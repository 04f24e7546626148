// Small helpers to assemble ONNX models (IR 8, opset 13) with onnx-proto.
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

export const IR_VERSION = 8;
export const OPSET = 13;

export type ElemType = keyof typeof DataType;
export type Dim = number | string;
// Integer attributes only: every attribute these models use (axis, keepdims, ...) is an int.
export type Attr = number | number[] | string;

export function valueInfo(name: string, elemType: ElemType, dims: Dim[]): O.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType[elemType],
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function floatTensor(name: string, dims: number[], data: Float32Array): O.ITensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`${name}: ${data.length} values for dims [${dims}]`);
  // raw_data is little-endian by spec; write it explicitly rather than trusting host order.
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

export function int64Tensor(name: string, dims: number[], data: ArrayLike<number>): O.ITensorProto {
  const raw = new Uint8Array(data.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, BigInt(data[i]!), true);
  return { name, dims, dataType: DataType.INT64, rawData: raw };
}

export function int32Tensor(name: string, dims: number[], data: Int32Array): O.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i]!, true);
  return { name, dims, dataType: DataType.INT32, rawData: raw };
}

export function int8Tensor(name: string, dims: number[], data: Int8Array): O.ITensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** STRING tensors cannot use raw_data: each element is its own UTF-8 bytes entry. */
export function stringTensor(name: string, dims: number[], data: string[]): O.ITensorProto {
  const encoder = new TextEncoder();
  return { name, dims, dataType: DataType.STRING, stringData: data.map((s) => encoder.encode(s)) };
}

function attribute(name: string, value: Attr): O.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (!Number.isInteger(value)) throw new Error(`${name}: only integer attributes are supported`);
  return { name, type: T.INT, i: value };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, Attr> = {},
): O.INodeProto {
  const name = `${opType}_${outputs[0]}`;
  return { name, opType, input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) };
}

export interface GraphSpec {
  name: string;
  doc?: string;
  nodes: O.INodeProto[];
  initializers?: O.ITensorProto[];
  inputs: O.IValueInfoProto[];
  outputs: O.IValueInfoProto[];
}

export function encodeModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'edge-inference/scripts/build-models.ts',
    docString: spec.doc ?? '',
    graph: {
      name: spec.name,
      node: spec.nodes,
      initializer: spec.initializers ?? [],
      input: spec.inputs,
      output: spec.outputs,
    },
  });
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}
