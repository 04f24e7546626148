// Starting a job: from an R2 notification, the upload route, or POST /v2/batches — one code path.
import { InferenceError, badRequest } from '../runtime/errors';
import { DataError, stageGzip } from './chunk-reader';
import { formatOf, type Format } from './formats';
import { jobStub, outputPrefix } from './job-object';
import type { JobSpec, JobStatus } from './job-types';
import { jobIdFor } from './notification';
import { inspectInput } from './planner';
import { dataPlane } from '../serving';

export interface JobRequest {
  /** Given for explicit requests; otherwise derived from the object version, so a repeated notification finds its job. */
  id?: string;
  consumer: string;
  model: string;
  version?: string;
  inputKey: string;
  format?: Format;
  chunkBytes?: number;
  faultRate?: number;
  /** Overrides the model config's `batch.id_column` (default `id`). */
  idColumn?: string;
  carry?: string[];
  output?: 'jsonl' | 'csv';
  classification?: number;
}

/**
 * Creates (or finds) the job for an input object. A model or input the job cannot run on still
 * makes a job, failed with the reason, so a notification never vanishes without a trace.
 */
export async function startJob(env: Env, request: JobRequest): Promise<JobStatus> {
  const head = await env.BATCH.head(request.inputKey);
  if (!head) throw badRequest(`input '${request.inputKey}' does not exist`);
  const id = request.id ?? (await jobIdFor('batch', `${request.inputKey}\n${request.model}`, head.etag));
  const spec: JobSpec = {
    id,
    consumer: request.consumer,
    model: request.model,
    version: request.version ?? '',
    inputKey: request.inputKey,
    size: head.size,
    format: 'csv',
    gzip: false,
    header: [],
    chunkBytes: request.chunkBytes ?? Number(env.BATCH_CHUNK_BYTES),
    ...(request.faultRate && { faultRate: request.faultRate }),
    ...(request.carry?.length && { carry: request.carry }),
    ...(request.output && { output: request.output }),
    ...(request.classification && { classification: request.classification }),
  };
  let failure: string | undefined;
  try {
    const model = await dataPlane(env).describe(request.model, request.version);
    spec.version = model.version;
    Object.assign(spec, formatOf(request.inputKey, request.format));
    spec.idColumn = request.idColumn ?? model.config.batch?.id_column ?? 'id';
    if (head.size > 0) spec.header = await inspectInput(env.BATCH, request.inputKey, spec, model);
    const missing = spec.format === 'csv' && spec.header.length ? (spec.carry ?? []).filter((c) => !spec.header.includes(c)) : [];
    if (missing.length) throw badRequest(`options.carry: ${missing.map((c) => `'${c}'`).join(', ')} not in the CSV header (${spec.header.join(',')})`);
    if (spec.classification && !(model.config.classification_output && model.config.labels)) {
      throw badRequest(`options.classification: model '${model.name}' declares no labels and classification_output in its config`);
    }
    if (spec.output === 'csv') spec.csvHeader = ['line', 'id', ...(spec.carry ?? []), ...model.outputs.map((o) => o.name)];
    if (spec.gzip && !(await jobStub(env, request.consumer, id).status()).ok) {
      spec.readKey = `${outputPrefix(request.consumer, id)}input.${spec.format}`;
      spec.size = await stageGzip(env.BATCH, request.inputKey, spec.readKey, Number(env.MAX_UPLOAD_BYTES));
    }
  } catch (error) {
    if (!(error instanceof DataError || error instanceof InferenceError)) throw error;
    failure = error.message;
  }
  return jobStub(env, request.consumer, id).create(spec, failure);
}
