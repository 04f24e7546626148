// Scores a chunk's records in batches through the data plane; a bad record becomes an error line, never a failed chunk.
import type { DatatypeName } from '../runtime/datatypes';
import type { ModelHandle } from '../runtime/data-plane';
import type { ModelInfo, TensorSpec } from '../runtime/loaded-model';
import type { HostTensor } from '../runtime/inference';
import { fromHalfBits } from '../runtime/float16';
import type { RequestInput, RequestOutput } from '../runtime/protocol';
import { stringify } from 'csv-stringify/browser/esm/sync';
import { elementCount } from '../runtime/tensor-codec';
import type { InputRecord, RecordError } from './records';

export interface ScoredChunk {
  /** JSON Lines, one per scored record, in input order. */
  results: string;
  errors: string;
  ok: number;
  failed: number;
}

const DEFAULT_BATCH = 1024;

/** How record fields become tensors: one feature per model input, or named columns of one [-1, F] input. */
type Layout = { kind: 'inputs'; inputs: TensorSpec[] } | { kind: 'columns'; input: TensorSpec; features: string[] };

function layoutOf(model: ModelInfo): Layout {
  const features = model.config.features;
  const [only] = model.inputs;
  if (features && model.inputs.length === 1 && only!.shape.length === 2 && only!.shape[1] === features.length) {
    return { kind: 'columns', input: only!, features };
  }
  return { kind: 'inputs', inputs: model.inputs };
}

class RecordProblem extends Error {
  constructor(readonly problem: RecordError) {
    super(problem.message);
  }
}

/** A CSV string or JSON value as the JSON element the codec expects for `datatype`. */
function element(value: unknown, datatype: DatatypeName, field: string): unknown {
  if (value === undefined || value === null || value === '') throw new RecordProblem({ code: 'missing_feature', message: `'${field}' is missing` });
  if (typeof value !== 'string') return value;
  if (datatype === 'BYTES') return value;
  if (datatype === 'BOOL') {
    if (/^(true|1)$/i.test(value.trim())) return true;
    if (/^(false|0)$/i.test(value.trim())) return false;
  } else {
    const number = Number(value.trim());
    if (value.trim() !== '' && Number.isFinite(number)) return number;
  }
  throw new RecordProblem({ code: 'invalid_value', message: `'${field}' is "${value.slice(0, 40)}", not a valid ${datatype}` });
}

/** One record's dimensions of an input: all but the batch dimension, a dynamic one taking one value. */
const recordDims = (spec: TensorSpec) => spec.shape.slice(1).map((d) => (d === -1 ? 1 : d));

/** One record's contribution to each input: flat row-major elements. A record may also give the input whole. */
function rowOf(layout: Layout, values: Record<string, unknown>): unknown[][] {
  if (layout.kind === 'columns' && values[layout.input.name] === undefined) {
    return [layout.features.map((f) => element(values[f], layout.input.datatype, f))];
  }
  const specs = layout.kind === 'columns' ? [layout.input] : layout.inputs;
  return specs.map((spec) => {
    const perRecord = elementCount(recordDims(spec));
    const value = values[spec.name];
    const flat = Array.isArray(value) ? value.flat(Infinity) : [value];
    if (flat.length !== perRecord) {
      throw new RecordProblem({ code: 'invalid_value', message: `'${spec.name}' needs ${perRecord} value(s), found ${flat.length}` });
    }
    return flat.map((v) => element(v, spec.datatype, spec.name));
  });
}

/** Batch records' rows into request inputs; a non-batch dynamic dimension takes one value per record. */
function requestFor(layout: Layout, rows: unknown[][][]): RequestInput[] {
  const specs = layout.kind === 'columns' ? [layout.input] : layout.inputs;
  return specs.map((spec, i) => ({
    name: spec.name,
    datatype: spec.datatype,
    shape: [rows.length, ...recordDims(spec)],
    data: rows.flatMap((r) => r[i]!),
  }));
}

const FP32_MAX = 3.4028234663852886e38;
const INT32 = (v: unknown) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31;

/** A group's values as the datatype's typed array, or undefined when one does not fit it exactly (the protocol path then reports it). */
function hostData(datatype: DatatypeName, values: unknown[]): HostTensor['data'] | undefined {
  switch (datatype) {
    case 'FP32':
      return values.every((v) => typeof v === 'number' && Math.abs(v) <= FP32_MAX) ? Float32Array.from(values as number[]) : undefined;
    case 'FP64':
      return values.every((v) => typeof v === 'number') ? Float64Array.from(values as number[]) : undefined;
    case 'INT64':
      return values.every((v) => Number.isSafeInteger(v)) ? BigInt64Array.from(values as number[], BigInt) : undefined;
    case 'INT32':
      return values.every(INT32) ? Int32Array.from(values as number[]) : undefined;
    case 'BOOL':
      return values.every((v) => typeof v === 'boolean') ? Uint8Array.from(values as boolean[], Number) : undefined;
    case 'BYTES':
      return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
    default:
      return undefined;
  }
}

/** Typed tensors straight from the parsed rows (no protocol JSON between), or undefined to take the protocol path. */
function tensorsFor(layout: Layout, rows: unknown[][][]): Record<string, HostTensor> | undefined {
  const specs = layout.kind === 'columns' ? [layout.input] : layout.inputs;
  const tensors: Record<string, HostTensor> = {};
  for (const [i, spec] of specs.entries()) {
    const data = hostData(spec.datatype, rows.flatMap((r) => r[i]!));
    if (!data) return undefined;
    tensors[spec.name] = { datatype: spec.datatype, shape: [rows.length, ...recordDims(spec)], data };
  }
  return tensors;
}

/** A host tensor's element as the protocol's JSON writes it. */
const jsonValue = (datatype: DatatypeName) => (value: unknown): unknown => {
  if (datatype === 'BOOL') return value !== 0;
  // 64-bit integers beyond 2^53 stay exact, as the protocol's JSON writes them.
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : JSON.rawJSON(value.toString());
  return datatype === 'FP16' ? fromHalfBits(value as number) : value;
};

interface BatchOutput {
  name: string;
  data: ArrayLike<unknown>;
  /** Turns one element into its JSON value. */
  json: (value: unknown) => unknown;
}

/** One record's outputs, by name: its value, or its slice of the batch. */
function recordOutputs(outputs: BatchOutput[], count: number, i: number): Record<string, unknown> {
  return Object.fromEntries(
    outputs.map(({ name, data, json }) => {
      const per = data.length / count;
      return [name, per === 1 ? json(data[i]) : Array.from({ length: per }, (_, k) => json(data[i * per + k]))];
    }),
  );
}

const same = (value: unknown) => value;

/** What every result and error line starts with: its file (prefix jobs), the record's line number and its id, if any. */
const where = (record: InputRecord, file?: string) => ({ ...(file && { file }), line: record.line, ...(record.id !== undefined && { id: record.id }) });

/** How a job wants its results: JSON Lines (default) or CSV rows under `csvHeader`; top-k labels for the classifier output. */
export interface ResultOptions {
  /** Set for a job over a prefix: every result and error line names its file. */
  file?: string;
  output?: 'jsonl' | 'csv';
  csvHeader?: string[];
  classification?: number;
}

/** The classifier output with Triton's classification parameter, then every other output as it is. */
function requestedOutputs(model: ModelInfo, classification: number | undefined): RequestOutput[] | undefined {
  const name = model.config.classification_output;
  if (!classification || !name) return undefined;
  return model.outputs.map((o) => (o.name === name ? { name, parameters: { classification } } : { name: o.name }));
}

/** One result line: JSON, or a CSV row whose cells follow the header (arrays as JSON text). */
function resultLine(record: InputRecord, outputs: Record<string, unknown>, options: ResultOptions): string {
  if (options.output !== 'csv') return JSON.stringify({ ...where(record, options.file), ...(record.carried && { input: record.carried }), outputs });
  const known: Record<string, unknown> = { file: options.file, line: record.line, id: record.id ?? '', ...record.carried, ...outputs };
  const cells = options.csvHeader!.map((column) => {
    const value = known[column];
    return value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
  return stringify([cells]).replace(/\n$/, '');
}

export async function scoreRecords(model: ModelHandle, records: InputRecord[], options: ResultOptions = {}): Promise<ScoredChunk> {
  const layout = layoutOf(model);
  const lines = new Map<InputRecord, string>();
  const problems = new Map<InputRecord, RecordError>();
  const pending: { record: InputRecord; row: unknown[][] }[] = [];

  for (const record of records) {
    if (record.error) problems.set(record, record.error);
    else if (record.request) {
      try {
        const { response } = await model.infer(record.request);
        lines.set(
          record,
          options.output === 'csv'
            ? resultLine(record, Object.fromEntries(response.outputs.map((o) => [o.name, o.data])), options)
            : JSON.stringify({ ...where(record, options.file), ...(record.carried && { input: record.carried }), response }),
        );
      } catch (error) {
        problems.set(record, { code: 'invalid_request', message: (error as Error).message });
      }
    } else {
      try {
        pending.push({ record, row: rowOf(layout, record.values!) });
      } catch (error) {
        if (!(error instanceof RecordProblem)) throw error;
        problems.set(record, error.problem);
      }
    }
  }

  const batchSize = model.config.max_batch_size || DEFAULT_BATCH;
  const requested = requestedOutputs(model, options.classification);
  const fetches = model.outputs.map((o) => o.name);
  const run = async (group: typeof pending): Promise<void> => {
    try {
      const rows = group.map((p) => p.row);
      // Typed arrays straight into the model when every value fits (the common case); the protocol path otherwise,
      // and for the classification extension.
      const tensors = requested ? undefined : tensorsFor(layout, rows);
      if (tensors) {
        const results = await model.run(tensors, fetches);
        const outputs = fetches.map((name): BatchOutput => ({ name, data: results[name]!.data as ArrayLike<unknown>, json: jsonValue(results[name]!.datatype) }));
        group.forEach(({ record }, i) => lines.set(record, resultLine(record, recordOutputs(outputs, group.length, i), options)));
        return;
      }
      const { response } = await model.infer({ inputs: requestFor(layout, rows), ...(requested && { outputs: requested }) });
      const outputs = response.outputs.map((o): BatchOutput => ({ name: o.name, data: o.data!, json: same }));
      group.forEach(({ record }, i) => lines.set(record, resultLine(record, recordOutputs(outputs, group.length, i), options)));
    } catch (error) {
      // Find the records the model rejects by scoring them one at a time.
      if (group.length > 1) for (const one of group) await run([one]);
      else problems.set(group[0]!.record, { code: 'model_error', message: (error as Error).message.slice(0, 300) });
    }
  };
  for (let i = 0; i < pending.length; i += batchSize) await run(pending.slice(i, i + batchSize));

  const results: string[] = [];
  const errors: string[] = [];
  for (const record of records) {
    const line = lines.get(record);
    if (line) results.push(line);
    const problem = problems.get(record);
    if (problem) errors.push(JSON.stringify({ ...where(record, options.file), ...problem }));
  }
  return { results: results.map((l) => `${l}\n`).join(''), errors: errors.map((l) => `${l}\n`).join(''), ok: results.length, failed: errors.length };
}
