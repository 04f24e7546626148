// A queue consumer's work on one chunk message: count its lines, or score its records into R2.
import { metrics } from '../metrics/recorder';
import { dataPlane } from '../serving';
import { DataError, readOwned } from './chunk-reader';
import { jobStubByName, partKey } from './job-object';
import type { ChunkMessage } from './job-types';
import { parseRecords } from './records';
import { scoreRecords } from './scorer';

/** One structured log line per chunk attempt, as requests have: which job, chunk and pass, the outcome and the time. */
function logChunk(message: ChunkMessage, attempt: number, started: number, outcome: Record<string, unknown>): void {
  metrics.add('edge_batch_chunks_total', { outcome: String(outcome.outcome) });
  const duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
  console.log(JSON.stringify({ at: new Date().toISOString(), job: message.job, chunk: message.chunk, phase: message.phase, attempt, ...outcome, duration_ms }));
}

export async function runChunk(env: Env, message: ChunkMessage, attempt = 1): Promise<void> {
  const started = performance.now();
  try {
    const outcome = await workChunk(env, message, attempt);
    logChunk(message, attempt, started, outcome);
  } catch (error) {
    logChunk(message, attempt, started, { outcome: 'retry', error: String(error).slice(0, 300) });
    throw error;
  }
}

async function workChunk(env: Env, message: ChunkMessage, attempt: number): Promise<Record<string, unknown>> {
  const job = jobStubByName(env, message.job);
  const work = await job.work(message);
  if (!work) return { outcome: 'skipped' }; // done already, or the job is over (cancelled, failed)
  // Chaos testing: fail before any work or after the parts are written, never past the second attempt.
  const fault = (where: string) => {
    if (work.spec.faultRate && attempt <= 2 && Math.random() < work.spec.faultRate) throw new Error(`injected fault ${where}`);
  };
  fault('before reading');
  try {
    const { spec } = work;
    // A gzip input is read from its uncompressed copy.
    const { file } = work;
    const owned = await readOwned(env.BATCH, file.readKey ?? file.key, work.start, work.end, file.size);
    if (message.phase === 'count') {
      await job.counted(message.chunk, owned.lines);
      return { outcome: 'counted', lines: owned.lines };
    }

    const records = parseRecords(file.format, owned.bytes, work.firstLine, file.header, spec.idColumn, spec.carry);
    // A job over a prefix names each result's file.
    const options = { ...spec, ...(spec.files && { file: file.key }) };
    const scored = await dataPlane(env).hold(spec.model, spec.version, (model) => scoreRecords(model, records, options));
    // Same chunk, same bytes: a re-delivered chunk rewrites identical parts, so no row is ever duplicated.
    await env.BATCH.put(partKey(work.outputPrefix, 'part', message.chunk, spec.output), scored.results);
    await env.BATCH.put(partKey(work.outputPrefix, 'errors', message.chunk), scored.errors);
    fault('after writing the parts');
    await job.scored(message.chunk, scored.ok, scored.failed);
    // Counted once the job has the chunk: a chunk retried before that is not counted twice.
    metrics.add('edge_batch_rows_total', { model: spec.model }, scored.ok + scored.failed);
    metrics.add('edge_batch_row_errors_total', { model: spec.model }, scored.failed);
    return { outcome: 'scored', model: spec.model, version: spec.version, ok: scored.ok, failed: scored.failed };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    await job.fail(`chunk ${message.chunk}: ${error.message}`);
    return { outcome: 'failed_job', error: error.message.slice(0, 300) };
  }
}
