// A model version with its ORT session and its tensor metadata, read from the ONNX graph itself.
import { DATATYPES, datatypeOfOrt, type DatatypeName } from './datatypes';
import { InferenceError, badRequest } from './errors';
import { graphOptimizationLevel, type ModelConfig, type TensorConfig } from './model-config';
import type { ModelVersion } from './model-repository';
import { createSession, ort, wasmHeapBytes, type OrtSession } from './ort';
import { checkSequenceTensors, sequenceSpecOf } from './sequence-batching';

export interface TensorSpec {
  name: string;
  datatype: DatatypeName;
  /** -1 marks a dynamic dimension. */
  shape: number[];
}

/** What a model is, without its session: what callers outside the data plane may see. */
export interface ModelInfo {
  name: string;
  version: string;
  config: ModelConfig;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadedModel extends ModelInfo {
  session: OrtSession;
}

type ValueMetadata = OrtSession['inputMetadata'][number];

/** ONNX dimensions with neither a value nor a name arrive as 2^32 - 1: like named ones, they are dynamic. */
const isFixed = (d: unknown): d is number => typeof d === 'number' && d >= 0 && d <= 0x7fffffff;

function specOf(meta: ValueMetadata, role: string): TensorSpec {
  const datatype = meta.isTensor ? datatypeOfOrt(meta.type) : undefined;
  if (!meta.isTensor || !datatype) {
    throw badRequest(`${role} '${meta.name}' is ${meta.isTensor ? `a ${meta.type} tensor` : 'not a tensor'}, which the protocol cannot carry`);
  }
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (isFixed(d) ? d : -1)) };
}

/** Triton's TYPE_* names for the protocol's datatypes. */
export const configDatatype = (datatype: DatatypeName) => `TYPE_${datatype === 'BYTES' ? 'STRING' : datatype}`;

/**
 * Checks the config's inputs or outputs against the graph's: each must exist with the same datatype and
 * compatible dims (with max_batch_size > 0 the batch dim is implicit, as in Triton). Returns the graph's
 * specs with dynamic dims narrowed where the config fixes them.
 */
function reconcile(specs: TensorSpec[], declared: TensorConfig[] | undefined, role: 'input' | 'output', config: ModelConfig): TensorSpec[] {
  const narrowed = new Map<string, TensorSpec>();
  declared?.forEach((entry, i) => {
    const where = `config ${role}[${i}] '${entry.name}'`;
    const spec = specs.find((s) => s.name === entry.name);
    if (!spec) throw badRequest(`${where}: the model has no ${role} of that name (it has ${specs.map((s) => `'${s.name}'`).join(', ')})`);
    if (entry.data_type !== undefined && entry.data_type !== configDatatype(spec.datatype)) {
      throw badRequest(`${where}: data_type ${entry.data_type} does not match the model's ${configDatatype(spec.datatype)}`);
    }
    if (entry.dims === undefined || entry.reshape !== undefined) return;
    const dims = config.max_batch_size > 0 ? [-1, ...entry.dims] : entry.dims;
    const graph = `[${spec.shape.join(', ')}]`;
    if (dims.length !== spec.shape.length || dims.some((d, k) => d !== -1 && spec.shape[k] !== -1 && d !== spec.shape[k])) {
      const batch = config.max_batch_size > 0 ? ' (with max_batch_size > 0 the batch dimension is implicit)' : '';
      throw badRequest(`${where}: dims [${entry.dims.join(', ')}] do not match the model's ${graph}${batch}`);
    }
    if (config.max_batch_size > 0 && spec.shape[0] !== -1) throw badRequest(`${where}: max_batch_size > 0 needs a dynamic first dimension, the model's is ${graph}`);
    narrowed.set(spec.name, { ...spec, shape: spec.shape.map((d, k) => (d === -1 ? dims[k]! : d)) });
  });
  return specs.map((s) => narrowed.get(s.name) ?? s);
}

/** ORT's wasm heap beside the JavaScript heap, in the isolate's 128 MB: a model that needs more is refused. */
const MAX_WASM_HEAP_BYTES = 96 * 1024 * 1024;
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/**
 * One run on the smallest inputs the graph takes (dynamic dimensions 1, zeros), so the heap it needs
 * is measured before the model serves. A graph that refuses zeros is left to its first request.
 */
async function probe(session: OrtSession, inputs: TensorSpec[]): Promise<void> {
  const feeds = Object.fromEntries(
    inputs.map((spec) => {
      const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
      const count = shape.reduce((n, d) => n * d, 1);
      const { ort: type, array } = DATATYPES[spec.datatype] as { ort: ort.Tensor.Type; array?: new (n: number) => ort.Tensor.DataType };
      return [spec.name, new ort.Tensor(type, array ? new array(count) : Array<string>(count).fill(''), shape)];
    }),
  );
  await session.run(feeds).then(
    (outputs) => Object.values(outputs).forEach((t) => t.dispose()),
    () => undefined,
  );
}

/** Creates the session; a file ORT cannot load, whose tensors the protocol cannot carry, or that its config contradicts, is a 400. */
export async function loadModel(version: ModelVersion, bytes: Uint8Array): Promise<LoadedModel> {
  const failed = `failed to load '${version.name}' version ${version.version}`;
  if (version.problem) throw badRequest(`${failed}: ${version.problem}`);
  const heapBefore = wasmHeapBytes();
  let session: OrtSession;
  try {
    session = await createSession(bytes, graphOptimizationLevel(version.config));
  } catch (error) {
    throw badRequest(`${failed}: it cannot be loaded by ONNX Runtime: ${String(error).slice(0, 300)}`);
  }
  try {
    const { config } = version;
    const inputs = reconcile(session.inputMetadata.map((m) => specOf(m, 'input')), config.input, 'input', config);
    const outputs = reconcile(session.outputMetadata.map((m) => specOf(m, 'output')), config.output, 'output', config);
    const sequence = sequenceSpecOf(config);
    if (sequence) checkSequenceTensors(sequence, inputs, outputs);
    await probe(session, inputs);
    const heap = wasmHeapBytes();
    // The heap never shrinks: only a model that grew it past the budget is refused, not every one after it.
    if (heap > MAX_WASM_HEAP_BYTES && heap > heapBefore) {
      throw badRequest(`loading it and one run grew ONNX Runtime's wasm heap to ${mib(heap)} MiB; at most ${mib(MAX_WASM_HEAP_BYTES)} MiB fit in the isolate's 128 MB`);
    }
    return { name: version.name, version: version.version, config, session, inputs, outputs };
  } catch (error) {
    await session.release();
    if (error instanceof InferenceError) throw new InferenceError(error.status, `${failed}: ${error.message}`);
    throw error;
  }
}
