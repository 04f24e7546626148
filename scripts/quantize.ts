// Post-training quantisation of the Gemm/MatMul layers of an ONNX model, in plain TypeScript with
// onnx-proto (no Python tooling). Every Gemm (transA = 0, alpha = 1) or MatMul whose B is a 2-D FLOAT
// initializer is rewritten; the rest of the graph is left as it is. Weights are int8, symmetric, one
// scale per output channel (or per tensor); activations uint8, asymmetric. Modes, and what onnxruntime
// 1.30 makes of them at graph optimisation level 'all' (bench/int8.ts measures them all):
//
//  - `qdq` (the bundled one): static QDQ. The layer's input goes through QuantizeLinear →
//    DequantizeLinear at its calibrated range, the weight through DequantizeLinear, then MatMul and a
//    float bias → ORT fuses MatMulIntegerToFloat (uint8 × int8 → float). The bias is added with Sum,
//    not Add: ORT's level-1 MatMulAddFusion would turn MatMul + Add into a float Gemm first.
//  - `qgemm`: operator format, com.microsoft QGemm with an int32 bias; a layer whose output only feeds
//    other layers (through a Relu or not) writes uint8, so activations stay uint8 between layers.
//  - `dynamic`: what onnxruntime.quantization.quantize_dynamic writes: DynamicQuantizeLinear on the
//    input, MatMulInteger, Cast, Mul by the product of the scales, Add bias → DynamicQuantizeMatMul (no
//    calibration). Also takes layers whose B is already int8 (Cast of an int8 initializer, as in the
//    movielens model).
//  - `qdq-gemm`: QDQ around Gemm with an int32 bias, the textbook form for QGemm. Left unfused by ORT
//    1.30: the weights are dequantised on every run.
//  - `weight-only`: DequantizeLinear(int8 weight) → Gemm, float activations. Also left (mostly) unfused.
//  - `nbits4`: com.microsoft MatMulNBits, 4-bit blockwise weights (block 32, zero point 8), Add bias.
//
// Run: node scripts/quantize.ts   → models/fashion-mnist-int8/ (FASHION_MODE of models/fashion-mnist,
// calibrated on 2,000 training images) and test/fixtures/int8-reference.json (onnxruntime-node outputs
// for the tests). Needs the Fashion-MNIST idx files (scripts/fetch-fashion-mnist.sh fetches them, as
// build-models.ts does). Deterministic: two runs write byte-identical files. Rerun it whenever
// models/fashion-mnist changes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;
const root = resolve(import.meta.dirname, '..');

export type Mode = 'qgemm' | 'qdq' | 'qdq-gemm' | 'dynamic' | 'weight-only' | 'nbits4';
export type Ranges = Map<string, [number, number]>;

export interface QuantizeOptions {
  mode: Mode;
  /** Calibrated [min, max] of each quantised layer's input, by tensor name (`qdq`, `qdq-gemm`, `qgemm`). */
  ranges?: Ranges;
  /** Per output channel weight scales (default) or one scale per tensor. */
  perChannel?: boolean;
  /** Names of nodes left in float. */
  skip?: string[];
}

// ---------------------------------------------------------------- tensors

export function floatsOf(t: O.ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`${t.name}: not a FLOAT tensor`);
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

const dimsOf = (t: O.ITensorProto) => (t.dims ?? []).map(Number);

function rawTensor(name: string, dims: number[], dataType: number, bytes: Uint8Array): O.ITensorProto {
  return { name, dims, dataType, rawData: bytes };
}

function float32(name: string, dims: number[], data: ArrayLike<number>): O.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return rawTensor(name, dims, DataType.FLOAT, raw);
}

function int32(name: string, dims: number[], data: ArrayLike<number>): O.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i]!, true);
  return rawTensor(name, dims, DataType.INT32, raw);
}

const int8 = (name: string, dims: number[], data: Int8Array) =>
  rawTensor(name, dims, DataType.INT8, new Uint8Array(data.buffer, data.byteOffset, data.length));
const uint8 = (name: string, dims: number[], data: Uint8Array) => rawTensor(name, dims, DataType.UINT8, data);

// ---------------------------------------------------------------- attributes and nodes

type AttrValue = { i: number } | { f: number } | { ints: number[] } | { s: string };

function attr(name: string, v: AttrValue): O.IAttributeProto {
  if ('i' in v) return { name, type: AttrType.INT, i: v.i };
  if ('f' in v) return { name, type: AttrType.FLOAT, f: v.f };
  if ('ints' in v) return { name, type: AttrType.INTS, ints: v.ints };
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(v.s) };
}

function mk(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): O.INodeProto {
  return {
    name: `${opType}_${outputs[0]}`,
    opType,
    domain,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  };
}

function attrOf(n: O.INodeProto, name: string): O.IAttributeProto | undefined {
  return n.attribute?.find((a) => a.name === name);
}
const intAttr = (n: O.INodeProto, name: string, dflt: number) => Number(attrOf(n, name)?.i ?? dflt);
const floatAttr = (n: O.INodeProto, name: string, dflt: number) => attrOf(n, name)?.f ?? dflt;

// ---------------------------------------------------------------- quantisation arithmetic

/** Symmetric int8 weights of W [K, N] (row-major): one scale per column (output channel) or one in all. */
export function quantizeWeights(W: Float32Array, K: number, N: number, perChannel: boolean): { q: Int8Array; scale: Float32Array } {
  const maxAbs = new Float64Array(perChannel ? N : 1);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) {
    const c = perChannel ? n : 0;
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(W[k * N + n]!));
  }
  const scale = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) {
    const s = scale[perChannel ? n : 0]!;
    q[k * N + n] = Math.max(-127, Math.min(127, Math.round(W[k * N + n]! / s)));
  }
  return { q, scale };
}

/** uint8 activation parameters for a [min, max] range (widened to hold 0, as ONNX requires). */
export function activationParams([lo, hi]: [number, number]): { scale: number; zeroPoint: number } {
  const min = Math.min(lo, 0), max = Math.max(hi, 0);
  const scale = Math.fround(max > min ? (max - min) / 255 : 1);
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

// ---------------------------------------------------------------- the rewrite

interface Layer {
  node: O.INodeProto;
  index: number;
  x: string; // float input
  y: string; // float output
  K: number;
  N: number;
  W: Float32Array; // [K, N]
  b: Float32Array | null; // [N] (Gemm bias, or null)
  /** B is already int8 in the file, as Cast(int8 initializer `tensor`) (`dynamic` only): used as it is. */
  int8B?: { tensor: string; transposed: boolean };
}

/** The int8 initializer a tensor is a plain Cast-to-float of, if it is one. */
function castOfInt8(graph: O.IGraphProto, tensor: string): O.ITensorProto | undefined {
  const cast = (graph.node ?? []).find((n) => n.opType === 'Cast' && n.output?.[0] === tensor);
  if (!cast || intAttr(cast, 'to', 0) !== DataType.FLOAT) return undefined;
  const src = (graph.initializer ?? []).find((t) => t.name === cast.input![0]);
  return src && src.dataType === DataType.INT8 && dimsOf(src).length === 2 ? src : undefined;
}

/** The layers the quantiser rewrites, in graph order. */
export function quantisableLayers(model: O.IModelProto, skip: string[] = [], int8Sources = false): Layer[] {
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const layers: Layer[] = [];
  (graph.node ?? []).forEach((n, index) => {
    if (skip.includes(n.name ?? '') || (n.domain ?? '') !== '') return;
    if (n.opType !== 'Gemm' && n.opType !== 'MatMul') return;
    const B = inits.get(n.input![1]!);
    const B8 = int8Sources && !B ? castOfInt8(graph, n.input![1]!) : undefined;
    if (!B8 && (!B || B.dataType !== DataType.FLOAT || dimsOf(B).length !== 2)) return;
    let b: Float32Array | null = null;
    if (n.opType === 'Gemm') {
      if (intAttr(n, 'transA', 0) !== 0 || floatAttr(n, 'alpha', 1) !== 1) return;
      const c = n.input![2] ? inits.get(n.input![2]) : undefined;
      if (n.input![2] && !c) return; // a bias that is not an initializer
      if (c) {
        if (floatAttr(n, 'beta', 1) !== 1 || dimsOf(c).length !== 1) return;
        b = floatsOf(c);
      }
    }
    if (B8) {
      const transposed = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
      const [r, c] = dimsOf(B8) as [number, number];
      const [K, N] = transposed ? [c, r] : [r, c];
      if (b && b.length !== N) return;
      layers.push({ node: n, index, x: n.input![0]!, y: n.output![0]!, K, N, W: new Float32Array(0), b, int8B: { tensor: B8.name!, transposed } });
      return;
    }
    let [K, N] = dimsOf(B!) as [number, number];
    let W = floatsOf(B!);
    if (n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1) {
      // B is [N, K]: store it the MatMul way round.
      const t = new Float32Array(W.length);
      for (let r = 0; r < K; r++) for (let c = 0; c < N; c++) t[c * K + r] = W[r * N + c]!;
      [K, N] = [N, K];
      W = t;
    }
    if (b && b.length !== N) return;
    layers.push({ node: n, index, x: n.input![0]!, y: n.output![0]!, K, N, W, b });
  });
  return layers;
}

interface QTensor { name: string; scale: string; zeroPoint: string; a: { scale: number; zeroPoint: number } }

interface Context {
  add: (t: O.ITensorProto) => void;
  /** uint8 copies of float tensors made by earlier QGemm layers, by the float tensor's name. */
  uint8Of: Map<string, QTensor>;
  /** `qgemm`: the float tensor (the layer's output, or the Relu after it) this layer writes as uint8 instead. */
  uint8Output?: string;
}

function rewriteLayer(l: Layer, opts: QuantizeOptions, ctx: Context): O.INodeProto[] {
  const add = ctx.add;
  const p = l.node.name || `layer${l.index}`;
  const perChannel = opts.perChannel ?? true;
  const out: O.INodeProto[] = [];
  const axis1: Record<string, AttrValue> = perChannel ? { axis: { i: 1 } } : {};
  const scaleDims = perChannel ? [l.N] : [];

  if (opts.mode === 'nbits4') {
    const block = 32, blocks = Math.ceil(l.K / block), blob = block / 2;
    const packed = new Uint8Array(l.N * blocks * blob);
    const scales = new Float32Array(l.N * blocks);
    for (let n = 0; n < l.N; n++) for (let kb = 0; kb < blocks; kb++) {
      let m = 0;
      for (let k = kb * block; k < Math.min(l.K, (kb + 1) * block); k++) m = Math.max(m, Math.abs(l.W[k * l.N + n]!));
      const s = m > 0 ? m / 7 : 1;
      scales[n * blocks + kb] = s;
      for (let j = 0; j < block; j++) {
        const k = kb * block + j;
        const q = k < l.K ? Math.max(-8, Math.min(7, Math.round(l.W[k * l.N + n]! / s))) + 8 : 8; // default zero point 8
        const at = (n * blocks + kb) * blob + (j >> 1);
        packed[at] = packed[at]! | (j & 1 ? q << 4 : q);
      }
    }
    add(uint8(`${p}_Bq4`, [l.N, blocks, blob], packed));
    add(float32(`${p}_Bscales`, [l.N * blocks], scales));
    const inputs = [l.x, `${p}_Bq4`, `${p}_Bscales`];
    const mm = l.b ? `${p}_mm` : l.y;
    out.push(mk('MatMulNBits', inputs, [mm], { K: { i: l.K }, N: { i: l.N }, bits: { i: 4 }, block_size: { i: block }, accuracy_level: { i: 4 } }, 'com.microsoft'));
    if (l.b) {
      add(float32(`${p}_bias`, [l.N], l.b));
      out.push(mk('Add', [mm, `${p}_bias`], [l.y]));
    }
    return out;
  }

  if (l.int8B) {
    // Weights already int8 (their scale applied elsewhere in the graph): x quantised per run, MatMulInteger,
    // times x's scale. A transposed B becomes a Transpose of the int8 tensor, folded by ORT at load.
    let Wq = l.int8B.tensor;
    if (l.int8B.transposed) out.push(mk('Transpose', [Wq], [(Wq = `${p}_Wq`)], { perm: { ints: [1, 0] } }));
    // A product of scales (weight scale 1 per column: a scalar 1 would be removed as a no-op first) is the
    // shape ORT's MatMulIntegerToFloat fusion looks for.
    add(float32(`${p}_Wscale`, [l.N], new Float32Array(l.N).fill(1)));
    return integerMatMul(Wq);
  }

  /** x quantised per run (DynamicQuantizeLinear), MatMulInteger with `Wq`, scaled back to float, bias added. */
  function integerMatMul(Wq: string): ReturnType<typeof mk>[] {
    out.push(mk('DynamicQuantizeLinear', [l.x], [`${p}_xq`, `${p}_xscale`, `${p}_xzp`]));
    out.push(mk('MatMulInteger', [`${p}_xq`, Wq, `${p}_xzp`], [`${p}_acc`]));
    out.push(mk('Mul', [`${p}_xscale`, `${p}_Wscale`], [`${p}_scale`]));
    out.push(mk('Cast', [`${p}_acc`], [`${p}_accf`], { to: { i: DataType.FLOAT } }));
    const scaled = l.b ? `${p}_scaled` : l.y;
    out.push(mk('Mul', [`${p}_accf`, `${p}_scale`], [scaled]));
    if (l.b) {
      add(float32(`${p}_bias`, [l.N], l.b));
      out.push(mk('Add', [scaled, `${p}_bias`], [l.y]));
    }
    return out;
  }

  const { q, scale } = quantizeWeights(l.W, l.K, l.N, perChannel);
  add(int8(`${p}_Wq`, [l.K, l.N], q));
  add(float32(`${p}_Wscale`, scaleDims, scale));

  const rangeOf = (tensor: string) => {
    const range = opts.ranges?.get(tensor);
    if (!range) throw new Error(`${p}: no calibrated range for ${tensor}`);
    return activationParams(range);
  };

  if (opts.mode === 'qgemm') {
    // Operator format: com.microsoft QGemm, uint8 × int8 with an int32 bias, straight from uint8 input
    // to uint8 output when the next layer takes it (a Relu in between is the saturation at zero point 0).
    let xq = ctx.uint8Of.get(l.x);
    if (!xq) {
      const a = rangeOf(l.x);
      xq = { name: `${p}_xq`, scale: `${p}_xscale`, zeroPoint: `${p}_xzp`, a };
      add(float32(xq.scale, [], [a.scale]));
      add(uint8(xq.zeroPoint, [], Uint8Array.of(a.zeroPoint)));
      out.push(mk('QuantizeLinear', [l.x, xq.scale, xq.zeroPoint], [xq.name]));
    }
    add(int8(`${p}_Wzp`, scaleDims, new Int8Array(perChannel ? l.N : 1)));
    const inputs = [xq.name, xq.scale, xq.zeroPoint, `${p}_Wq`, `${p}_Wscale`, `${p}_Wzp`];
    if (l.b) {
      const bs = Float32Array.from({ length: l.N }, (_, n) => Math.fround(scale[perChannel ? n : 0]! * xq.a.scale));
      add(int32(`${p}_bq`, [l.N], Int32Array.from(l.b, (v, n) => Math.round(v / bs[n]!))));
    }
    inputs.push(l.b ? `${p}_bq` : '');
    if (ctx.uint8Output) {
      const a = rangeOf(ctx.uint8Output);
      const y: QTensor = { name: `${p}_yq`, scale: `${p}_yscale`, zeroPoint: `${p}_yzp`, a };
      add(float32(y.scale, [], [a.scale]));
      add(uint8(y.zeroPoint, [], Uint8Array.of(a.zeroPoint)));
      out.push(mk('QGemm', [...inputs, y.scale, y.zeroPoint], [y.name], {}, 'com.microsoft'));
      ctx.uint8Of.set(ctx.uint8Output, y);
    } else {
      out.push(mk('QGemm', inputs, [l.y], {}, 'com.microsoft'));
    }
    return out;
  }

  if (opts.mode === 'dynamic') return integerMatMul(`${p}_Wq`);

  out.push(mk('DequantizeLinear', [`${p}_Wq`, `${p}_Wscale`], [`${p}_W`], axis1));
  if (opts.mode === 'weight-only') {
    const inputs = [l.x, `${p}_W`];
    if (l.b) {
      add(float32(`${p}_bias`, [l.N], l.b));
      inputs.push(`${p}_bias`);
    }
    out.push(mk('Gemm', inputs, [l.y], { alpha: { f: 1 }, beta: { f: 1 } }));
    return out;
  }

  // qdq / qdq-gemm: the input through QuantizeLinear → DequantizeLinear at its calibrated range.
  const range = opts.ranges?.get(l.x);
  if (!range) throw new Error(`${p}: no calibrated range for its input ${l.x}`);
  const a = activationParams(range);
  add(float32(`${p}_xscale`, [], [a.scale]));
  add(uint8(`${p}_xzp`, [], Uint8Array.of(a.zeroPoint)));
  out.push(mk('QuantizeLinear', [l.x, `${p}_xscale`, `${p}_xzp`], [`${p}_xq`]));
  out.push(mk('DequantizeLinear', [`${p}_xq`, `${p}_xscale`, `${p}_xzp`], [`${p}_xdq`]));

  if (opts.mode === 'qdq-gemm') {
    // The textbook QDQ Gemm (int32 bias at scale x_scale × w_scale, what ORT's quantiser writes for
    // QGemm). onnxruntime 1.30 leaves it unfused: DequantizeLinear and a float Gemm at run time.
    const inputs = [`${p}_xdq`, `${p}_W`];
    if (l.b) {
      const bs = Float32Array.from({ length: l.N }, (_, n) => Math.fround(scale[perChannel ? n : 0]! * a.scale));
      add(int32(`${p}_bq`, [l.N], Int32Array.from(l.b, (v, n) => Math.round(v / bs[n]!))));
      add(float32(`${p}_bscale`, [l.N], bs));
      out.push(mk('DequantizeLinear', [`${p}_bq`, `${p}_bscale`], [`${p}_b`], { axis: { i: 0 } }));
      inputs.push(`${p}_b`);
    }
    out.push(mk('Gemm', inputs, [l.y], { alpha: { f: 1 }, beta: { f: 1 } }));
    return out;
  }

  // qdq: MatMul of the two DequantizeLinear outputs, which ORT fuses into MatMulIntegerToFloat (uint8 ×
  // int8 → float), then the float bias. The bias is added with Sum, not Add: ORT's level-1 MatMulAddFusion
  // would otherwise turn MatMul + Add into a float Gemm before the level-2 QDQ fusion sees the MatMul.
  const mm = l.b ? `${p}_mm` : l.y;
  out.push(mk('MatMul', [`${p}_xdq`, `${p}_W`], [mm]));
  if (l.b) {
    add(float32(`${p}_bias`, [l.N], l.b));
    out.push(mk('Sum', [mm, `${p}_bias`], [l.y]));
  }
  return out;
}

/**
 * Gather(Cast(int8), i) → Cast(Gather(int8, i)); a Cast nothing reads any more is dropped. Once the
 * matrix products read the int8 weights directly, this keeps the float copy of a whole int8 table out
 * of memory when the rest of the graph only gathers rows from it.
 */
function castAfterGather(nodes: O.INodeProto[]): O.INodeProto[] {
  const casts = new Map(nodes.filter((n) => n.opType === 'Cast').map((n) => [n.output![0]!, n]));
  const out: O.INodeProto[] = [];
  for (const n of nodes) {
    const cast = n.opType === 'Gather' ? casts.get(n.input![0]!) : undefined;
    if (!cast) {
      out.push(n);
      continue;
    }
    const rows = `${n.output![0]}_int8`;
    out.push({ ...n, input: [cast.input![0]!, ...n.input!.slice(1)], output: [rows] });
    out.push(mk('Cast', [rows], [n.output![0]!], { to: { i: intAttr(cast, 'to', 0) } }));
  }
  const read = new Set(out.flatMap((n) => n.input ?? []));
  return out.filter((n) => n.opType !== 'Cast' || !casts.has(n.output![0]!) || read.has(n.output![0]!));
}

/**
 * Layers whose float output only feeds other quantised layers, directly or through one Relu: under
 * `qgemm` they write it as uint8 (the Relu, if any, is dropped: saturating at zero point 0 is the Relu).
 * Keyed by the layer's node index; `tensor` is the float tensor the uint8 one stands for.
 */
function uint8Handoffs(graph: O.IGraphProto, layers: Layer[]): Map<number, { tensor: string; relu?: number }> {
  const nodes = graph.node ?? [];
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const consumers = (tensor: string) => nodes.map((n, i) => [n, i] as const).filter(([n]) => (n.input ?? []).includes(tensor));
  const layerAt = new Map(layers.map((l) => [l.index, l]));
  const feedsOnlyLayers = (tensor: string) => {
    const c = consumers(tensor);
    return !graphOutputs.has(tensor) && c.length > 0 && c.every(([n, i]) => layerAt.has(i) && n.input![0] === tensor);
  };
  const out = new Map<number, { tensor: string; relu?: number }>();
  for (const l of layers) {
    if (feedsOnlyLayers(l.y)) {
      out.set(l.index, { tensor: l.y });
      continue;
    }
    const c = consumers(l.y);
    if (c.length === 1 && c[0]![0].opType === 'Relu' && !graphOutputs.has(l.y) && feedsOnlyLayers(c[0]![0].output![0]!)) {
      out.set(l.index, { tensor: c[0]![0].output![0]!, relu: c[0]![1] });
    }
  }
  return out;
}

/** A quantised copy of `bytes` (an ONNX model); the original is not modified. */
export function quantize(bytes: Uint8Array, opts: QuantizeOptions): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const layers = quantisableLayers(model, opts.skip, opts.mode === 'dynamic');
  if (!layers.length) throw new Error('no Gemm or MatMul with a constant 2-D weight to quantise');
  const replaced = new Set(layers.map((l) => l.index));
  const usedInits = new Set<string>();
  const added: O.ITensorProto[] = [];
  const ctx: Context = { add: (t) => added.push(t), uint8Of: new Map() };
  const uint8Outputs = opts.mode === 'qgemm' ? uint8Handoffs(graph, layers) : new Map<number, { tensor: string; relu?: number }>();
  const dropped = new Set([...uint8Outputs.values()].flatMap((h) => (h.relu === undefined ? [] : [h.relu])));
  const nodes: O.INodeProto[] = [];
  (graph.node ?? []).forEach((n, i) => {
    if (dropped.has(i)) return;
    if (!replaced.has(i)) {
      nodes.push(n);
      return;
    }
    ctx.uint8Output = uint8Outputs.get(i)?.tensor;
    nodes.push(...rewriteLayer(layers.find((l) => l.index === i)!, opts, ctx));
  });
  graph.node = castAfterGather(nodes);
  for (const n of graph.node) for (const name of n.input ?? []) usedInits.add(name);
  // Drop the float weights nothing reads any more.
  graph.initializer = [...(graph.initializer ?? []).filter((t) => usedInits.has(t.name!)), ...added];
  if ((opts.mode === 'nbits4' || opts.mode === 'qgemm') && !model.opsetImport!.some((o) => o.domain === 'com.microsoft')) {
    model.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
  }
  model.producerName = 'edge-inference/scripts/quantize.ts';
  model.docString = `${model.docString ?? ''}${model.docString ? ' ' : ''}[int8 ${opts.mode}: ${layers.length} layers quantised by scripts/quantize.ts]`;
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------- calibration

/** The same model with extra FLOAT graph outputs (intermediate tensors), for calibration. */
export function withOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const have = new Set((graph.output ?? []).map((o) => o.name));
  for (const name of names) if (!have.has(name)) graph.output!.push({ name, type: { tensorType: { elemType: DataType.FLOAT } } });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Min/max of every quantisable layer's input over the calibration feeds, run with onnxruntime-node
 * on the FP32 model. `percentile` < 100 clips the top of the range at that percentile of the
 * observed values (activations here are ReLU outputs or pixels: the bottom is 0).
 */
export async function calibrate(
  bytes: Uint8Array,
  feeds: Record<string, unknown>[],
  percentile = 100,
): Promise<Ranges> {
  const ort = (await import('onnxruntime-node')).default;
  const model = onnx.ModelProto.decode(bytes);
  const names = [...new Set(quantisableLayers(model).map((l) => l.x))];
  const session = await ort.InferenceSession.create(withOutputs(bytes, names), { logSeverityLevel: 3 });
  const values = new Map<string, Float32Array[]>(names.map((n) => [n, []]));
  for (const f of feeds) {
    const out = await session.run(f as Record<string, InstanceType<typeof ort.Tensor>>);
    for (const n of names) values.get(n)!.push(Float32Array.from(out[n]!.data as Float32Array));
  }
  await session.release();
  const ranges: Ranges = new Map();
  for (const [n, chunks] of values) {
    const all = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) (all.set(c, o), (o += c.length));
    let min = Infinity, max = -Infinity;
    for (const v of all) (min = Math.min(min, v), (max = Math.max(max, v)));
    if (percentile < 100) {
      all.sort();
      max = all[Math.min(all.length - 1, Math.floor((percentile / 100) * all.length))]!;
    }
    ranges.set(n, [min, max]);
  }
  return ranges;
}

/** The op types of the graph ORT actually runs, from onnxruntime-node's optimised model file. */
export async function optimisedOps(bytes: Uint8Array, dir = tmpdir()): Promise<Record<string, number>> {
  const ort = (await import('onnxruntime-node')).default;
  const path = resolve(dir, `quantize-optimised-${process.pid}-${Math.random().toString(36).slice(2)}.onnx`);
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', optimizedModelFilePath: path, logSeverityLevel: 3 });
  await s.release();
  const m = onnx.ModelProto.decode(readFileSync(path));
  rmSync(path, { force: true });
  const ops: Record<string, number> = {};
  for (const n of m.graph!.node ?? []) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  return ops;
}

// ---------------------------------------------------------------- Fashion-MNIST

const FASHION_DIR = resolve(root, 'data/fashion-mnist');

function readIdx(file: string, headerBytes: number, itemBytes: number): Uint8Array {
  const buf = gunzipSync(readFileSync(resolve(FASHION_DIR, file)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint16(0) !== 0 || buf.length !== headerBytes + view.getUint32(4) * itemBytes) throw new Error(`${file}: not an idx file`);
  return buf.subarray(headerBytes);
}

/** Fashion-MNIST from data/fashion-mnist (fetched from Debian's dataset-fashion-mnist if missing). */
export function loadFashion() {
  const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
  if (files.some((f) => !existsSync(resolve(FASHION_DIR, f)))) {
    execFileSync('bash', [resolve(root, 'scripts/fetch-fashion-mnist.sh')], { stdio: 'inherit' });
  }
  return {
    trainImages: readIdx(files[0]!, 16, 784),
    trainLabels: readIdx(files[1]!, 8, 1),
    testImages: readIdx(files[2]!, 16, 784),
    testLabels: readIdx(files[3]!, 8, 1),
  };
}

/** `count` training images picked by a seeded shuffle (calibration data), as raw 0..255 floats. */
export function calibrationImages(trainImages: Uint8Array, count: number, seed = 14): Float32Array {
  const n = trainImages.length / 784;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  let a = seed >>> 0; // mulberry32, as scripts/train.ts
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const x = new Float32Array(count * 784);
  for (let r = 0; r < count; r++) x.set(trainImages.subarray(idx[r]! * 784, (idx[r]! + 1) * 784), r * 784);
  return x;
}

export const FASHION_CALIBRATION = 2000;

/** Min/max of each layer input of the fashion-mnist model over FASHION_CALIBRATION training images. */
export async function fashionRanges(fp32: Uint8Array, trainImages: Uint8Array): Promise<Ranges> {
  const ort = (await import('onnxruntime-node')).default;
  const x = calibrationImages(trainImages, FASHION_CALIBRATION);
  const feeds = [];
  for (let s = 0; s < FASHION_CALIBRATION; s += 500) {
    feeds.push({ input: new ort.Tensor('float32', x.slice(s * 784, (s + 500) * 784), [500, 784]) });
  }
  return calibrate(fp32, feeds);
}

/** The mode of the bundled models/fashion-mnist-int8 (bench/int8.ts compares it with the others). */
export const FASHION_MODE: Mode = 'qdq';

/** The int8 fashion-mnist model: models/fashion-mnist/1/model.onnx quantised, calibrated on training images. */
export async function quantizeFashion(fp32: Uint8Array, trainImages: Uint8Array, mode: Mode = FASHION_MODE): Promise<Uint8Array> {
  const ranges = mode === 'dynamic' || mode === 'weight-only' || mode === 'nbits4' ? undefined : await fashionRanges(fp32, trainImages);
  return quantize(fp32, { mode, ranges });
}

async function main(): Promise<void> {
  const ort = (await import('onnxruntime-node')).default;
  const { writeJson, runClassifier } = await import('./make-fixtures.ts');
  const data = loadFashion();
  const fp32 = readFileSync(resolve(root, 'models/fashion-mnist/1/model.onnx'));
  const int8 = await quantizeFashion(fp32, data.trainImages);
  console.log('ORT runs:', await optimisedOps(int8));

  // Accuracy and agreement with FP32 on the 10,000 test images, with onnxruntime-node.
  const n = data.testLabels.length;
  const run = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const out = await s.run({ input: new ort.Tensor('float32', Float32Array.from(data.testImages), [n, 784]) });
    await s.release();
    return Array.from(out.label!.data as BigInt64Array, Number);
  };
  const [l32, l8] = [await run(fp32), await run(int8)];
  const acc = (l: number[]) => Math.round((l.filter((v, i) => v === data.testLabels[i]).length / n) * 1e4) / 1e4;
  const agreement = Math.round((l8.filter((v, i) => v === l32[i]).length / n) * 1e4) / 1e4;
  console.log(`test accuracy: fp32 ${acc(l32)}, int8 ${acc(l8)}; top-1 agreement ${agreement}`);

  const fp32Config = JSON.parse(readFileSync(resolve(root, 'models/fashion-mnist/config.json'), 'utf8')) as Record<string, unknown> & { training: Record<string, unknown> };
  const path = resolve(root, 'models/fashion-mnist-int8/1/model.onnx');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, int8);
  console.log(`wrote models/fashion-mnist-int8/1/model.onnx (${int8.length} bytes; fp32 ${fp32.length})`);
  writeJson(resolve(root, 'models/fashion-mnist-int8/config.json'), {
    description:
      'Fashion-MNIST clothing classifier, the int8 variant of fashion-mnist: the same MLP 784-256-128-10 over raw 0..255 pixels, ' +
      'same input, outputs and labels, with int8 weights and uint8 activations (ONNX Runtime runs its layers as integer ' +
      'MatMulIntegerToFloat kernels). In onnxruntime-web about twice as fast as fashion-mnist for batches of 32 images, ' +
      'slower for a single image (bench/results/int8-latest.md). Made from models/fashion-mnist/1/model.onnx by `node scripts/quantize.ts`',
    // Everything else as models/fashion-mnist has it: platform, max_batch_size, batching, labels, ...
    ...Object.fromEntries(Object.entries(fp32Config).filter(([k]) => k !== 'description' && k !== 'training')),
    training: {
      data: fp32Config.training.data,
      accuracy: acc(l8),
      fp32_accuracy: acc(l32),
      top1_agreement_with_fp32: agreement,
      quantisation: `static QDQ (QuantizeLinear/DequantizeLinear around each MatMul): weights int8 symmetric per output channel, activations uint8 with min/max ranges calibrated on ${FASHION_CALIBRATION} training images (seeded shuffle), float bias`,
      samples: fp32Config.training.samples,
      script: 'scripts/quantize.ts',
    },
  });

  // Fixture: the 64 test images of the fashion-mnist sample through both models with onnxruntime-node.
  const sample = JSON.parse(readFileSync(resolve(root, 'test/fixtures/fashion-mnist-sample.json'), 'utf8')) as { images: number[][]; labels: number[] };
  const o8 = await runClassifier(int8, sample.images);
  const o32 = await runClassifier(fp32, sample.images);
  writeJson(resolve(root, 'test/fixtures/int8-reference.json'), {
    description:
      'onnxruntime-node on the images of test/fixtures/fashion-mnist-sample.json: models/fashion-mnist-int8 (probabilities, label) ' +
      'and models/fashion-mnist (fp32_label); written by scripts/quantize.ts',
    labels: sample.labels,
    fp32_label: o32.label,
    probabilities: o8.probabilities,
    label: o8.label,
  });
  console.log('wrote test/fixtures/int8-reference.json');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
