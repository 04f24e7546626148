// Starting a job: from an R2 notification, the upload route, or POST /v2/batches — one code path.
import { InferenceError, badRequest } from '../runtime/errors';
import { DataError, stageGzip } from './chunk-reader';
import { formatOf, type Format } from './formats';
import { jobStub, outputPrefix } from './job-object';
import type { InputFile, JobSpec, JobStatus } from './job-types';
import type { ModelInfo } from '../runtime/loaded-model';
import { jobIdFor } from './notification';
import { inspectInput } from './planner';
import { dataPlane } from '../serving';
import { DEFAULT_TIER } from '../auth';
import { acquirePlace, releasePlace } from '../consumers/limits';

/** A job over a prefix reads at most this many files. */
export const MAX_PREFIX_FILES = 100;

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
  /** Set for a job over every file under `inputKey`, a prefix ending in '/'. */
  prefix?: boolean;
  /** The consumer's tier, for its cap on active jobs (a job started by a notification counts as "standard"). */
  tier?: string;
}

/**
 * Creates (or finds) the job for an input object. A model or input the job cannot run on still
 * makes a job, failed with the reason, so a notification never vanishes without a trace.
 */
export async function startJob(env: Env, request: JobRequest): Promise<JobStatus> {
  const objects = request.prefix ? await listPrefix(env.BATCH, request.inputKey) : [await env.BATCH.head(request.inputKey)];
  const [head] = objects;
  if (!head) throw badRequest(`input '${request.inputKey}' does not exist`);
  const id = request.id ?? (await jobIdFor('batch', `${request.inputKey}\n${request.model}`, head.etag));
  const spec: JobSpec = {
    id,
    consumer: request.consumer,
    model: request.model,
    version: request.version ?? '',
    inputKey: request.inputKey,
    size: objects.reduce((n, o) => n + o!.size, 0),
    format: 'csv',
    gzip: false,
    header: [],
    chunkBytes: request.chunkBytes ?? Number(env.BATCH_CHUNK_BYTES),
    ...(request.faultRate && { faultRate: request.faultRate }),
    ...(request.carry?.length && { carry: request.carry }),
    ...(request.output && { output: request.output }),
    ...(request.classification && { classification: request.classification }),
  };
  const job = jobStub(env, request.consumer, id);
  const exists = (await job.status()).ok;
  // A new job takes one of the consumer's places first (a 429 beyond its tier's cap); a repeated start finds its job.
  if (!exists) await acquirePlace(env, { id: request.consumer, tier: request.tier ?? DEFAULT_TIER }, 'job', id);
  let failure: string | undefined;
  try {
    const model = await dataPlane(env).describe(request.model, request.version);
    spec.version = model.version;
    spec.idColumn = request.idColumn ?? model.config.batch?.id_column ?? 'id';
    if (spec.classification && !(model.config.classification_output && model.config.labels)) {
      throw badRequest(`options.classification: model '${model.name}' declares no labels and classification_output in its config`);
    }
    if (request.prefix) {
      spec.files = [];
      for (const object of objects) spec.files.push(await inspectFile(env, object!, request.format, spec, model));
      Object.assign(spec, { format: spec.files[0]!.format, header: spec.files[0]!.header });
    } else {
      Object.assign(spec, formatOf(request.inputKey, request.format));
      if (head.size > 0) spec.header = await inspectInput(env.BATCH, request.inputKey, spec, model);
      checkCarry(spec.carry, spec.format, spec.header);
      if (spec.gzip && !exists) {
        spec.readKey = `${outputPrefix(request.consumer, id)}input.${spec.format}`;
        spec.size = await stageGzip(env.BATCH, request.inputKey, spec.readKey, Number(env.MAX_UPLOAD_BYTES));
      }
    }
    if (spec.output === 'csv') spec.csvHeader = [...(spec.files ? ['file'] : []), 'line', 'id', ...(spec.carry ?? []), ...model.outputs.map((o) => o.name)];
  } catch (error) {
    if (!(error instanceof DataError || error instanceof InferenceError)) throw error;
    failure = error.message;
  }
  return job.create(spec, failure).catch(async (error: unknown) => {
    await releasePlace(env, request.consumer, 'job', id);
    throw error;
  });
}

/** Every object under a prefix, in key order; too many, or none, is the caller's error. */
async function listPrefix(bucket: R2Bucket, prefix: string): Promise<R2Object[]> {
  if (!prefix.endsWith('/')) throw badRequest(`input_prefix '${prefix.slice(0, 200)}' must end with '/'`);
  const listed = await bucket.list({ prefix, limit: MAX_PREFIX_FILES + 1 });
  const objects = listed.objects.filter((o) => !o.key.endsWith('/')).sort((a, b) => (a.key < b.key ? -1 : 1));
  if (objects.length > MAX_PREFIX_FILES) throw badRequest(`input_prefix: more than ${MAX_PREFIX_FILES} files under '${prefix}'; split the job`);
  if (!objects.length) throw badRequest(`input_prefix: no files under '${prefix}'`);
  return objects;
}

/** One file of a job over a prefix: its format and header, checked as a single input's are. */
async function inspectFile(env: Env, object: R2Object, declared: Format | undefined, spec: JobSpec, model: ModelInfo): Promise<InputFile> {
  const format = formatOf(object.key, declared);
  if (format.gzip) throw new DataError(`'${object.key}': a job over a prefix reads plain CSV or JSON Lines; start a job of its own for a .gz file`);
  const header = object.size > 0 ? await inspectInput(env.BATCH, object.key, format, model).catch((error: unknown) => {
    throw error instanceof DataError ? new DataError(`'${object.key}': ${error.message}`) : error;
  }) : [];
  checkCarry(spec.carry, format.format, header);
  return { key: object.key, size: object.size, ...format, header };
}

/** Carried columns must be in a CSV's header. */
function checkCarry(carry: string[] | undefined, format: Format, header: string[]): void {
  const missing = format === 'csv' && header.length ? (carry ?? []).filter((c) => !header.includes(c)) : [];
  if (missing.length) throw badRequest(`options.carry: ${missing.map((c) => `'${c}'`).join(', ')} not in the CSV header (${header.join(',')})`);
}
