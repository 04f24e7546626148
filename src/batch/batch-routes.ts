// Batch URLs: upload to the inbox, start a job, follow it, cancel it, and stream its results.
import { Hono, type Context } from 'hono';
import { stringify } from 'csv-stringify/browser/esm/sync';
import { z } from 'zod';
import { limitBody, optionalJson, requestLimit } from '../http/body';
import { InferenceError, badRequest, notFound } from '../runtime/errors';
import { validate } from '../runtime/protocol';
import { randomId } from '../runtime/ids';
import { checkModelName, checkVersion } from '../runtime/model-repository';
import { unwrap } from '../runtime/outcome';
import { jobStub, partKey } from './job-object';
import type { JobStatus } from './job-types';
import { startJob, type JobRequest } from './jobs';

type Ctx = Context<{ Bindings: Env }>;

const carrySchema = z.array(z.string().min(1).max(200)).max(50);
const resultOptions = {
  /** The column (or JSON field) copied into each result as its id; default the model config's batch.id_column, else `id`. */
  id_column: z.string().min(1).max(200).optional(),
  /** Input columns (or JSON fields) copied into each result, as SageMaker's join-source does. */
  carry: carrySchema.optional(),
  /** Results as JSON Lines (default) or CSV with a header row. */
  output_format: z.enum(['jsonl', 'csv']).optional(),
  /** Top-k "score:index:label" strings for the classifier output, as Triton's classification extension answers online. */
  classification: z.int().min(1).max(100).optional(),
};

export const createSchema = z.object({
  model: z.string(),
  version: z.string().optional(),
  /** One file in the caller's inbox, or with `input_prefix` every file under a folder of it (one job, one manifest). */
  input_key: z.string().optional(),
  input_prefix: z.string().optional(),
  format: z.enum(['csv', 'jsonl']).optional(),
  options: z
    .object({
      chunk_bytes: z.int().min(1024).max(64 * 1024 * 1024).optional(),
      /** Chaos testing: the share of chunk deliveries that fail on purpose (first two attempts only). */
      fault_rate: z.number().min(0).max(1).optional(),
      ...resultOptions,
    })
    .default({}),
});

/** The same result options on an upload, as query parameters (`carry` comma-separated), plus `rerun`. */
export const uploadQuerySchema = z.object({
  format: z.enum(['csv', 'jsonl']).optional(),
  id_column: resultOptions.id_column,
  carry: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(carrySchema)
    .optional(),
  output_format: resultOptions.output_format,
  classification: z.coerce.number().pipe(z.int().min(1).max(100)).optional(),
  /** A deliberate re-run: a new job even when this exact file was scored before. */
  rerun: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
/** The result options, as given on either route, in the job request's terms. */
const resultRequest = (o: { id_column?: string; carry?: string[]; output_format?: 'jsonl' | 'csv'; classification?: number }): Partial<JobRequest> => ({
  idColumn: o.id_column,
  carry: o.carry,
  output: o.output_format,
  classification: o.classification,
});

export const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(1024).optional(),
});
const JOB_ID = /^[0-9a-f]{32}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

async function statusOf(c: Ctx): Promise<JobStatus> {
  const id = c.req.param('id')!;
  if (!JOB_ID.test(id)) throw notFound('batch job not found');
  return unwrap(await jobStub(c.env, c.var.consumer.id, id).status());
}

async function writeHeader(writable: WritableStream<Uint8Array>, header: string[]): Promise<void> {
  const writer = writable.getWriter();
  await writer.write(new TextEncoder().encode(stringify([header])));
  writer.releaseLock();
}

/**
 * Streams the job's parts of one kind, in input order, once it has ended. A failed or cancelled job's
 * parts are those of the chunks it scored, marked `X-Partial: true`.
 */
async function streamParts(c: Ctx, kind: 'part' | 'errors') {
  const status = await statusOf(c);
  if (status.state === 'queued' || status.state === 'running') {
    throw new InferenceError(409, `job is ${status.state}; results are ready once it has ended (partial ones too, if it fails or is cancelled)`);
  }
  const { chunks, output, csvHeader } = unwrap(await jobStub(c.env, c.var.consumer.id, status.id).doneChunks());
  const keys = chunks.map((i) => partKey(status.output, kind, i, output));
  const csv = kind === 'part' && output === 'csv';
  const bucket = c.env.BATCH;
  // Each part is piped in turn with backpressure; an empty or missing part (a chunk with nothing to say) is skipped.
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const copy = async () => {
    try {
      if (csv) await writeHeader(writable, csvHeader!);
      for (const key of keys) {
        const object = await bucket.get(key);
        if (object) await object.body.pipeTo(writable, { preventClose: true });
      }
      await writable.close();
    } catch (error) {
      await writable.abort(error).catch(() => undefined);
    }
  };
  c.executionCtx.waitUntil(copy());
  const partial = status.state !== 'succeeded';
  return c.body(readable, 200, { 'Content-Type': csv ? 'text/csv' : 'application/x-ndjson', 'X-Partial': String(partial), 'X-Job-State': status.state });
}

export const batchRoutes = new Hono<{ Bindings: Env }>()
  // An upload into the inbox through the API: the job is made before the answer, so its URL never 404s. An upload
  // straight to R2 starts the same job from its event notification; both derive one id, so neither makes a second.
  .put('/inbox/:model/:file', async (c) => {
    const model = checkModelName(c.req.param('model'));
    const file = c.req.param('file');
    if (!FILE.test(file)) throw badRequest(`file name '${file.slice(0, 80)}' must be 1-200 letters, digits, '_', '.' or '-'`);
    const length = Number(c.req.header('content-length'));
    if (!c.req.header('content-length') || !Number.isSafeInteger(length)) throw new InferenceError(411, 'Content-Length is required: the upload streams into R2');
    const limit = Number(c.env.MAX_UPLOAD_BYTES);
    if (length > limit) throw new InferenceError(413, `upload of ${length} bytes exceeds the limit of ${limit} bytes`);
    const query = validate(uploadQuerySchema, c.req.query(), 'query');
    const consumer = c.var.consumer.id;
    const key = `inbox/${consumer}/${model}/${file}`;
    const stored = (await c.env.BATCH.put(key, c.req.raw.body ?? new Uint8Array(0)))!;
    const status = await startJob(c.env, {
      ...(query.rerun && { id: randomId() }),
      consumer,
      tier: c.var.consumer.tier,
      model,
      inputKey: key,
      format: query.format,
      ...resultRequest(query),
    });
    return c.json({ ...status, input: key, size: stored.size }, 202, { Location: status.url });
  })
  .use(limitBody(requestLimit))
  .post('/', async (c) => {
    const body = await optionalJson(c, createSchema);
    const consumer = c.var.consumer.id;
    if ((body.input_key === undefined) === (body.input_prefix === undefined)) throw badRequest('give exactly one of input_key and input_prefix');
    const input = (body.input_key ?? body.input_prefix)!;
    // Only the caller's own inbox can be read: another consumer's key is simply not found.
    if (!input.startsWith(`inbox/${consumer}/`)) throw notFound(`input '${input.slice(0, 200)}' does not exist`);
    if (body.options.fault_rate !== undefined && String(c.env.ALLOW_FAULT_INJECTION) !== 'true') {
      throw badRequest('options.fault_rate needs ALLOW_FAULT_INJECTION=true on the server (chaos testing only)');
    }
    const status = await startJob(c.env, {
      id: randomId(),
      consumer,
      tier: c.var.consumer.tier,
      model: checkModelName(body.model),
      version: checkVersion(body.version),
      inputKey: input,
      prefix: body.input_prefix !== undefined,
      format: body.format,
      chunkBytes: body.options.chunk_bytes,
      faultRate: body.options.fault_rate,
      ...resultRequest(body.options),
    });
    return c.json(status, 202, { Location: status.url });
  })
  // Newest first, a page at a time: `limit` (1-100, default 20) and the `cursor` the previous page gave.
  .get('/', async (c) => {
    const { limit, cursor } = validate(listSchema, c.req.query(), 'query');
    const listed = await c.env.BATCH.list({ prefix: `jobs/${c.var.consumer.id}/`, limit, ...(cursor && { cursor }) });
    const ids = listed.objects.map((o) => o.key.split('-').at(-1)!).filter((id) => JOB_ID.test(id));
    const jobs = await Promise.all(ids.map(async (id) => jobStub(c.env, c.var.consumer.id, id).status()));
    return c.json({ jobs: jobs.flatMap((j) => (j.ok ? [j.value] : [])), ...(listed.truncated && { cursor: listed.cursor }) });
  })
  .get('/:id', async (c) => c.json(await statusOf(c)))
  .post('/:id/cancel', async (c) => {
    const id = c.req.param('id');
    if (!JOB_ID.test(id)) throw notFound('batch job not found');
    return c.json(unwrap(await jobStub(c.env, c.var.consumer.id, id).cancel()));
  })
  .get('/:id/output', (c) => streamParts(c, 'part'))
  .get('/:id/errors', (c) => streamParts(c, 'errors'));
