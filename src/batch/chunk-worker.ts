// A queue consumer's work on one chunk message: count its lines, or score its records into R2.
import { dataPlane } from '../serving';
import { DataError, readGzip, readOwned, type OwnedRegion } from './chunk-reader';
import { jobStubByName, partKey } from './job-object';
import type { ChunkMessage, ChunkWork } from './job-types';
import { parseRecords } from './records';
import { scoreRecords } from './scorer';

/** Gzip inputs are decompressed whole in one chunk; this bounds them. */
const MAX_GZIP_BYTES = 64 * 1024 * 1024;

function region(env: Env, work: ChunkWork): Promise<OwnedRegion> {
  const { spec } = work;
  return spec.gzip ? readGzip(env.BATCH, spec.inputKey, MAX_GZIP_BYTES) : readOwned(env.BATCH, spec.inputKey, work.start, work.end, spec.size);
}

export async function runChunk(env: Env, message: ChunkMessage): Promise<void> {
  const job = jobStubByName(env, message.job);
  const work = await job.work(message);
  if (!work) return; // done already, or the job is over (cancelled, failed)
  try {
    const owned = await region(env, work);
    if (message.phase === 'count') return await job.counted(message.chunk, owned.lines);

    const { spec } = work;
    const records = parseRecords(spec.format, owned.bytes, work.firstLine, spec.header, spec.idColumn);
    const scored = await dataPlane(env).hold(spec.model, spec.version, (model) => scoreRecords(model, records));
    // Same chunk, same bytes: a re-delivered chunk rewrites identical parts, so no row is ever duplicated.
    await env.BATCH.put(partKey(work.outputPrefix, 'part', message.chunk), scored.results);
    await env.BATCH.put(partKey(work.outputPrefix, 'errors', message.chunk), scored.errors);
    await job.scored(message.chunk, scored.ok, scored.failed);
  } catch (error) {
    if (error instanceof DataError) return job.fail(`chunk ${message.chunk}: ${error.message}`);
    throw error;
  }
}
