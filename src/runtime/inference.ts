// Inference on a loaded model: validates a protocol request against it, runs it, encodes the outputs.
import { DATATYPES, isDatatype, type DatatypeName } from './datatypes';
import { badRequest } from './errors';
import type { LoadedModel, TensorSpec } from './loaded-model';
import { ort } from './ort';
import type { InferenceRequest, InferenceResponse, RequestOutput, ResponseOutput } from './protocol';
import { elementCount, flattenData, tensorFromBinary, tensorFromJson, tensorToBinary, tensorToJson } from './tensor-codec';
import { classify } from './classification';
import type { DynamicBatcher } from './dynamic-batcher';

/** A tensor the server keeps between calls (sequence state), as binary-extension bytes. */
export interface StoredTensor {
  datatype: DatatypeName;
  shape: number[];
  bytes: Uint8Array;
}

/** Server-held state: fed to `inputs` by name, read back from `outputs` after the run. */
export interface CarriedState {
  feeds: Record<string, StoredTensor>;
  outputs: string[];
}

export interface InferenceResult {
  response: InferenceResponse;
  /** Binary-extension payloads, in the order of the outputs that carry `binary_data_size`. */
  binary: Uint8Array[];
  /** Milliseconds spent inside ORT (the whole execution, when the request shared one). */
  inferMs: number;
  /** Milliseconds waiting in the dynamic batcher's queue. */
  queueMs: number;
  /** 1 when this request counts the execution it ran in; 0 when it was merged into another's. */
  executions: 0 | 1;
  /** Rows in the execution this request ran in. */
  batchSize: number;
  /** Milliseconds decoding the inputs and encoding the outputs, beside the run itself. */
  inputMs: number;
  outputMs: number;
  /** The carried state's outputs, when state was given. */
  state: Record<string, StoredTensor>;
}

const list = (specs: TensorSpec[]) => specs.map((s) => `'${s.name}'`).join(', ');

function checkShape(model: LoadedModel, spec: TensorSpec, shape: number[]): void {
  const expected = `[${spec.shape.join(', ')}]`;
  if (shape.length !== spec.shape.length || spec.shape.some((d, i) => d !== -1 && d !== shape[i])) {
    throw badRequest(`input '${spec.name}': shape [${shape.join(', ')}] does not match the model's ${expected}`);
  }
  const batchLimit = model.config.max_batch_size;
  if (batchLimit > 0 && spec.shape[0] === -1 && shape[0]! > batchLimit) {
    throw badRequest(`input '${spec.name}': batch of ${shape[0]} exceeds max_batch_size ${batchLimit}`);
  }
}

/** Without a configured bound, a request may carry this many elements (64 MiB of FP32) over all its inputs. */
const DEFAULT_MAX_INPUT_ELEMENTS = 16 * 1024 * 1024;

/**
 * Bounds one request's work before anything is decoded: what a graph allocates can follow its input
 * shapes, and the isolate has 128 MB. `max_input_elements` in the config bounds the total, or each named input.
 */
function checkInputSize(model: LoadedModel, shapes: { name: string; shape: number[] }[]): void {
  const limit = model.config.max_input_elements ?? DEFAULT_MAX_INPUT_ELEMENTS;
  if (typeof limit === 'number') {
    const total = shapes.reduce((n, s) => n + elementCount(s.shape), 0);
    if (total > limit) throw badRequest(`the inputs hold ${total} elements; model '${model.name}' takes at most ${limit} per request (max_input_elements)`);
    return;
  }
  for (const { name, shape } of shapes) {
    const count = elementCount(shape);
    if (name in limit && count > limit[name]!) throw badRequest(`input '${name}': ${count} elements; model '${model.name}' takes at most ${limit[name]} (max_input_elements)`);
  }
}

function decodeInputs(model: LoadedModel, request: InferenceRequest, binary: (Uint8Array | undefined)[], state?: CarriedState): Record<string, ort.Tensor> {
  checkInputSize(model, request.inputs);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, stored] of Object.entries(state?.feeds ?? {})) {
    feeds[name] = tensorFromBinary(name, stored.datatype, stored.shape, stored.bytes);
  }
  request.inputs.forEach((input, i) => {
    const spec = model.inputs.find((s) => s.name === input.name);
    if (!spec) throw badRequest(`unknown input '${input.name}'; model '${model.name}' takes ${list(model.inputs)}`);
    if (state?.feeds[input.name]) throw badRequest(`input '${input.name}' is sequence state that the server carries; do not send it`);
    if (feeds[input.name]) throw badRequest(`input '${input.name}' is given twice`);
    if (!isDatatype(input.datatype)) throw badRequest(`input '${input.name}': unknown datatype '${input.datatype}'`);
    if (input.datatype !== spec.datatype) {
      throw badRequest(`input '${input.name}': datatype ${input.datatype} does not match the model's ${spec.datatype}`);
    }
    checkShape(model, spec, input.shape);
    const bytes = binary[i];
    if (bytes) {
      if (input.data !== undefined) throw badRequest(`input '${input.name}': give either data or binary_data_size, not both`);
      feeds[input.name] = tensorFromBinary(input.name, spec.datatype, input.shape, bytes);
      return;
    }
    if (input.data === undefined) throw badRequest(`input '${input.name}': data is missing`);
    const values = flattenData(input.name, input.data, input.shape);
    const count = elementCount(input.shape);
    if (values.length !== count) {
      throw badRequest(`input '${input.name}': ${values.length} elements given, shape [${input.shape.join(', ')}] needs ${count}`);
    }
    feeds[input.name] = tensorFromJson(input.name, spec.datatype, input.shape, values);
  });
  const missing = model.inputs.filter((s) => !feeds[s.name]);
  if (missing.length) throw badRequest(`missing input ${list(missing)}; model '${model.name}' takes ${list(model.inputs)}`);
  return feeds;
}

function booleanParameter(value: unknown, where: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw badRequest(`${where} must be true or false`);
}

function requestedOutputs(model: LoadedModel, request: InferenceRequest, hidden: string[]): RequestOutput[] {
  if (!request.outputs?.length) return model.outputs.filter((s) => !hidden.includes(s.name)).map((s) => ({ name: s.name }));
  const seen = new Set<string>();
  for (const output of request.outputs) {
    if (!model.outputs.some((s) => s.name === output.name)) {
      throw badRequest(`unknown output '${output.name}'; model '${model.name}' produces ${list(model.outputs)}`);
    }
    if (seen.has(output.name)) throw badRequest(`output '${output.name}' is requested twice`);
    seen.add(output.name);
  }
  return request.outputs;
}

interface OutputPlan {
  name: string;
  binary: boolean;
  classification?: number;
}

function planOutputs(model: LoadedModel, request: InferenceRequest, hidden: string[]): OutputPlan[] {
  const allBinary = booleanParameter(request.parameters?.binary_data_output, 'parameters.binary_data_output') ?? false;
  return requestedOutputs(model, request, hidden).map((output) => {
    const where = `outputs '${output.name}' parameters`;
    const classification = output.parameters?.classification;
    if (classification !== undefined && !(Number.isInteger(classification) && (classification as number) > 0)) {
      throw badRequest(`${where}.classification must be a positive integer`);
    }
    return {
      name: output.name,
      binary: booleanParameter(output.parameters?.binary_data, `${where}.binary_data`) ?? allBinary,
      classification: classification as number | undefined,
    };
  });
}

/** Runs the session; what the graph itself rejects (e.g. an index out of range) is the client's 400. */
export async function runSession(model: LoadedModel, feeds: Record<string, ort.Tensor>, fetches: string[]): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await model.session.run(feeds, fetches);
  } catch (error) {
    throw badRequest(`model '${model.name}' rejected the inputs: ${String(error).slice(0, 300)}`);
  }
}

function encodeOutputs(model: LoadedModel, plans: OutputPlan[], results: ort.InferenceSession.ReturnType) {
  const binary: Uint8Array[] = [];
  const outputs = plans.map((plan): ResponseOutput => {
    const spec = model.outputs.find((s) => s.name === plan.name)!;
    const tensor = results[plan.name]!;
    const { datatype, shape, data } = plan.classification
      ? classify(tensor, spec.datatype, plan.classification, model.config.labels)
      : { datatype: spec.datatype, shape: [...tensor.dims], data: undefined };
    if (plan.binary) {
      const bytes = tensorToBinary(datatype, data ? new ort.Tensor('string', data, shape) : tensor);
      binary.push(bytes);
      return { name: plan.name, datatype, shape, parameters: { binary_data_size: bytes.byteLength } };
    }
    return { name: plan.name, datatype, shape, data: data ?? tensorToJson(datatype, tensor) };
  });
  return { outputs, binary };
}

function storedOutputs(model: LoadedModel, names: string[], results: ort.InferenceSession.ReturnType): Record<string, StoredTensor> {
  return Object.fromEntries(
    names.map((name) => {
      const spec = model.outputs.find((s) => s.name === name)!;
      const tensor = results[name]!;
      return [name, { datatype: spec.datatype, shape: [...tensor.dims], bytes: tensorToBinary(spec.datatype, tensor).slice() }];
    }),
  );
}

/** Runs the session: alone, or through the dynamic batcher when the model has one and no state is carried. */
async function execute(model: LoadedModel, feeds: Record<string, ort.Tensor>, fetches: string[], batcher: DynamicBatcher | undefined) {
  if (batcher) return batcher.submit(feeds, fetches);
  const started = performance.now();
  const outputs = await runSession(model, feeds, fetches);
  const batchSize = Object.values(feeds)[0]?.dims[0] ?? 1;
  return { outputs, queueMs: 0, inferMs: performance.now() - started, executions: 1 as const, batchSize };
}

/** A protocol request on a loaded model: decode and check the inputs, run, encode the outputs. */
export async function infer(
  model: LoadedModel,
  request: InferenceRequest,
  binary: (Uint8Array | undefined)[] = [],
  state?: CarriedState,
  batcher?: DynamicBatcher,
): Promise<InferenceResult> {
  const decoding = performance.now();
  const feeds = decodeInputs(model, request, binary, state);
  const stateOutputs = state?.outputs ?? [];
  const plans = planOutputs(model, request, stateOutputs);
  const fetches = plans.map((p) => p.name);

  const running = performance.now();
  const all = [...fetches, ...stateOutputs.filter((name) => !fetches.includes(name))];
  const { outputs: results, queueMs, inferMs, executions, batchSize } = await execute(model, feeds, all, state ? undefined : batcher);
  const encoding = performance.now();
  const { outputs, binary: payloads } = encodeOutputs(model, plans, results);
  return {
    response: {
      model_name: model.name,
      model_version: model.version,
      ...(request.id !== undefined && { id: request.id }),
      outputs,
    },
    binary: payloads,
    inputMs: running - decoding,
    inferMs,
    queueMs,
    executions,
    batchSize,
    outputMs: performance.now() - encoding,
    state: storedOutputs(model, stateOutputs, results),
  };
}

/** A tensor as plain typed data, for callers inside the server that need no protocol JSON. */
export interface HostTensor {
  datatype: DatatypeName;
  shape: number[];
  /** Typed array of the datatype's element type (BOOL as 0/1 bytes, FP16 as bits); BYTES as strings. */
  data: ArrayLike<number | bigint> | string[];
}

/** Runs a loaded model on host tensors, checked against the graph as protocol inputs are. */
export async function runTensors(model: LoadedModel, inputs: Record<string, HostTensor>, fetches: string[]): Promise<Record<string, HostTensor>> {
  checkInputSize(model, Object.entries(inputs).map(([name, t]) => ({ name, shape: t.shape })));
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    const spec = model.inputs.find((s) => s.name === name);
    if (!spec) throw badRequest(`unknown input '${name}'; model '${model.name}' takes ${list(model.inputs)}`);
    if (tensor.datatype !== spec.datatype) throw badRequest(`input '${name}': datatype ${tensor.datatype} does not match the model's ${spec.datatype}`);
    checkShape(model, spec, tensor.shape);
    if (tensor.data.length !== elementCount(tensor.shape)) throw badRequest(`input '${name}': ${tensor.data.length} elements, shape [${tensor.shape.join(', ')}] needs ${elementCount(tensor.shape)}`);
    feeds[name] = new ort.Tensor(DATATYPES[spec.datatype].ort, tensor.data as never, tensor.shape);
  }
  const missing = model.inputs.filter((s) => !feeds[s.name]);
  if (missing.length) throw badRequest(`missing input ${list(missing)}; model '${model.name}' takes ${list(model.inputs)}`);
  const unknown = fetches.filter((name) => !model.outputs.some((s) => s.name === name));
  if (unknown.length) throw badRequest(`unknown output '${unknown[0]}'; model '${model.name}' produces ${list(model.outputs)}`);
  const results = await runSession(model, feeds, fetches);
  return Object.fromEntries(
    fetches.map((name) => {
      const tensor = results[name]!;
      const datatype = model.outputs.find((s) => s.name === name)!.datatype;
      return [name, { datatype, shape: [...tensor.dims], data: tensor.data as HostTensor['data'] }];
    }),
  );
}
