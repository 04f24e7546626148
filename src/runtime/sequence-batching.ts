// Triton's sequence batcher, one request at a time: control tensors filled from the sequence flags, implicit state carried between calls.
import { DATATYPES, type DatatypeName } from './datatypes';
import { badRequest } from './errors';
import type { StoredTensor } from './inference';
import type { ModelInfo, TensorSpec } from './loaded-model';
import type { ModelConfig } from './model-config';
import type { SequenceFlags } from './sequence-flags';
import { elementCount, tensorFromJson, tensorToBinary } from './tensor-codec';

type Kind = 'CONTROL_SEQUENCE_START' | 'CONTROL_SEQUENCE_END' | 'CONTROL_SEQUENCE_READY' | 'CONTROL_SEQUENCE_CORRID';

interface Control {
  input: string;
  kind: Kind;
  datatype: DatatypeName;
  /** The [false, true] values of a boolean control. */
  values: [number | boolean, number | boolean];
}

export interface SequenceState {
  input: string;
  output: string;
  datatype: DatatypeName;
  shape: number[];
}

/** What the server needs to run a sequence model: its controls, its state, its idle timeout and an optional streaming context. */
export interface SequenceSpec {
  controls: Control[];
  states: SequenceState[];
  idleTimeoutSeconds: number;
  /** The last `length` elements of `input` are kept and prepended to the next call's (streaming audio models). */
  context?: { input: string; length: number };
  /** With max_batch_size > 0 every control and state carries a leading batch dimension of 1. */
  batched: boolean;
}

interface RawControl {
  kind?: string;
  int32_false_true?: number[];
  fp32_false_true?: number[];
  bool_false_true?: boolean[];
  data_type?: string;
}
interface RawSequenceBatching {
  max_sequence_idle_microseconds?: number;
  control_input?: { name: string; control?: RawControl[] }[];
  state?: { input_name: string; output_name: string; data_type: string; dims?: number[]; initial_state?: { zero_data?: boolean; data_file?: string }[] }[];
}

/** Without max_sequence_idle_microseconds a sequence idles out after ten minutes (Triton's own default is one second). */
const DEFAULT_IDLE_SECONDS = 600;

const protocolType = (type: string | undefined, where: string): DatatypeName => {
  const name = type === 'TYPE_STRING' ? 'BYTES' : type?.replace(/^TYPE_/, '');
  if (!name || !(name in DATATYPES)) throw badRequest(`${where}: data_type ${type} is not supported`);
  return name as DatatypeName;
};

function controlOf(input: string, raw: RawControl, where: string): Control {
  const kind = raw.kind as Kind;
  if (kind === 'CONTROL_SEQUENCE_CORRID') return { input, kind, datatype: protocolType(raw.data_type, where), values: [0, 0] };
  if (raw.int32_false_true?.length === 2) return { input, kind, datatype: 'INT32', values: raw.int32_false_true as [number, number] };
  if (raw.fp32_false_true?.length === 2) return { input, kind, datatype: 'FP32', values: raw.fp32_false_true as [number, number] };
  if (raw.bool_false_true?.length === 2) return { input, kind, datatype: 'BOOL', values: raw.bool_false_true as [boolean, boolean] };
  throw badRequest(`${where}: a ${kind} control needs int32_false_true, fp32_false_true or bool_false_true with two values`);
}

/** The sequence spec of a model, from Triton's `sequence_batching` and the stream-context parameters; undefined for other models. */
export function sequenceSpecOf(config: ModelConfig): SequenceSpec | undefined {
  const raw = config.sequence_batching as RawSequenceBatching | undefined;
  if (!raw) return undefined;
  const batched = config.max_batch_size > 0;
  const controls = (raw.control_input ?? []).flatMap((input, i) =>
    (input.control ?? []).map((control, j) => controlOf(input.name, control, `sequence_batching.control_input[${i}].control[${j}]`)),
  );
  const states = (raw.state ?? []).map((state, i) => {
    const where = `sequence_batching.state[${i}]`;
    if (state.initial_state?.some((s) => s.data_file !== undefined)) throw badRequest(`${where}.initial_state: data_file is not supported; use zero_data`);
    const dims = state.dims ?? [];
    if (dims.some((d) => d < 0)) throw badRequest(`${where}.dims: variable dimensions are not supported in implicit state`);
    return { input: state.input_name, output: state.output_name, datatype: protocolType(state.data_type, where), shape: batched ? [1, ...dims] : dims };
  });
  const parameter = (key: string) => (config.parameters as Record<string, { string_value?: string }> | undefined)?.[key]?.string_value;
  const contextInput = parameter('stream_context_input');
  const contextLength = Number(parameter('stream_context_length') ?? 0);
  if (contextInput !== undefined && !(Number.isInteger(contextLength) && contextLength > 0 && contextLength <= 1 << 16)) {
    throw badRequest('parameters.stream_context_length must be a whole number from 1 to 65536');
  }
  const idle = raw.max_sequence_idle_microseconds;
  return {
    controls,
    states,
    idleTimeoutSeconds: idle ? Math.max(1, Math.ceil(idle / 1e6)) : DEFAULT_IDLE_SECONDS,
    ...(contextInput !== undefined && { context: { input: contextInput, length: contextLength } }),
    batched,
  };
}

/** A model's tensors as clients see them: the sequence controls and state the server fills or keeps are hidden, as in Triton. */
export function publicTensors(model: ModelInfo): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const spec = sequenceSpecOf(model.config);
  if (!spec) return { inputs: model.inputs, outputs: model.outputs };
  const inputs = new Set([...spec.controls.map((c) => c.input), ...spec.states.map((s) => s.input)]);
  const outputs = new Set(spec.states.map((s) => s.output));
  return { inputs: model.inputs.filter((t) => !inputs.has(t.name)), outputs: model.outputs.filter((t) => !outputs.has(t.name)) };
}

/** Each control and state must be a graph tensor of the configured datatype: checked when the model loads. */
export function checkSequenceTensors(spec: SequenceSpec, inputs: TensorSpec[], outputs: TensorSpec[]): void {
  const check = (name: string, datatype: DatatypeName, specs: TensorSpec[], what: string) => {
    const found = specs.find((s) => s.name === name);
    if (!found) throw badRequest(`sequence_batching ${what} '${name}' is not a tensor of the model`);
    if (found.datatype !== datatype) throw badRequest(`sequence_batching ${what} '${name}' is ${datatype} in the config but ${found.datatype} in the model`);
  };
  for (const control of spec.controls) check(control.input, control.datatype, inputs, 'control input');
  for (const state of spec.states) {
    check(state.input, state.datatype, inputs, 'state input');
    check(state.output, state.datatype, outputs, 'state output');
  }
}

const stored = (datatype: DatatypeName, shape: number[], data: unknown[]): StoredTensor => ({
  datatype,
  shape,
  bytes: tensorToBinary(datatype, tensorFromJson('control', datatype, shape, data)).slice(),
});

/** The control tensors of one request: START and END from its flags, READY true, CORRID its sequence id. */
export function controlFeeds(spec: SequenceSpec, flags: SequenceFlags, model: string): Record<string, StoredTensor> {
  const shape = spec.batched ? [1, 1] : [1];
  const feeds: Record<string, StoredTensor> = {};
  for (const control of spec.controls) {
    if (control.kind === 'CONTROL_SEQUENCE_CORRID') {
      const id = flags.sequenceId;
      if (control.datatype !== 'BYTES' && typeof id !== 'number') {
        throw badRequest(`model '${model}' takes its correlation id as ${control.datatype}: parameters.sequence_id must be an integer, not "${String(id).slice(0, 40)}"`);
      }
      feeds[control.input] = stored(control.datatype, shape, [control.datatype === 'BYTES' ? String(id) : id]);
      continue;
    }
    const on = control.kind === 'CONTROL_SEQUENCE_START' ? flags.start : control.kind === 'CONTROL_SEQUENCE_END' ? flags.end : true;
    feeds[control.input] = stored(control.datatype, shape, [control.values[on ? 1 : 0]]);
  }
  return feeds;
}

/** A state's value at the start of a sequence: zeros. */
export function initialState(state: SequenceState): StoredTensor {
  const { size } = DATATYPES[state.datatype];
  if (state.datatype === 'BYTES') throw badRequest(`sequence state '${state.input}' cannot be BYTES`);
  return { datatype: state.datatype, shape: state.shape, bytes: new Uint8Array(elementCount(state.shape) * size) };
}
