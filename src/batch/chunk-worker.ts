// A queue consumer's work on one chunk message: count its lines, or score its records into R2.
import { dataPlane } from '../serving';
import { DataError, readOwned } from './chunk-reader';
import { jobStubByName, partKey } from './job-object';
import type { ChunkMessage } from './job-types';
import { parseRecords } from './records';
import { scoreRecords } from './scorer';

export async function runChunk(env: Env, message: ChunkMessage, attempt = 1): Promise<void> {
  const job = jobStubByName(env, message.job);
  const work = await job.work(message);
  if (!work) return; // done already, or the job is over (cancelled, failed)
  // Chaos testing: fail before any work or after the parts are written, never past the second attempt.
  const fault = (where: string) => {
    if (work.spec.faultRate && attempt <= 2 && Math.random() < work.spec.faultRate) throw new Error(`injected fault ${where}`);
  };
  fault('before reading');
  try {
    const { spec } = work;
    // A gzip input is read from its uncompressed copy.
    const owned = await readOwned(env.BATCH, spec.readKey ?? spec.inputKey, work.start, work.end, spec.size);
    if (message.phase === 'count') return await job.counted(message.chunk, owned.lines);

    const records = parseRecords(spec.format, owned.bytes, work.firstLine, spec.header, spec.idColumn);
    const scored = await dataPlane(env).hold(spec.model, spec.version, (model) => scoreRecords(model, records));
    // Same chunk, same bytes: a re-delivered chunk rewrites identical parts, so no row is ever duplicated.
    await env.BATCH.put(partKey(work.outputPrefix, 'part', message.chunk), scored.results);
    await env.BATCH.put(partKey(work.outputPrefix, 'errors', message.chunk), scored.errors);
    fault('after writing the parts');
    await job.scored(message.chunk, scored.ok, scored.failed);
  } catch (error) {
    if (error instanceof DataError) return job.fail(`chunk ${message.chunk}: ${error.message}`);
    throw error;
  }
}
