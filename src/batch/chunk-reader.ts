// Reads the records a chunk owns: those that start inside its byte range, read through to their end.
import { concatBytes, inflate } from '../runtime/bytes';
const NEWLINE = 10;
/** A record may run this far past its chunk's end; longer records fail the chunk. */
const MAX_RECORD_BYTES = 1 << 20;

export interface OwnedRegion {
  /** The bytes of the owned records, whole lines. */
  bytes: Uint8Array;
  /** Number of lines in the region (a last line without a newline counts). */
  lines: number;
}

/** The owned region of [start, end) in an object of `size` bytes: from the first record start ≥ start to the first ≥ end. */
export async function readOwned(bucket: R2Bucket, key: string, start: number, end: number, size: number): Promise<OwnedRegion> {
  const from = Math.max(0, start - 1);
  const to = Math.min(size, end + MAX_RECORD_BYTES);
  if (to <= from) return { bytes: new Uint8Array(0), lines: 0 };
  const object = await bucket.get(key, { range: { offset: from, length: to - from } });
  if (!object) throw new Error(`input object '${key}' is gone`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  const startOf = (position: number) => {
    // The first record start at or after `position` (global offset).
    if (position === 0) return 0;
    if (position >= size) return size;
    const newline = bytes.indexOf(NEWLINE, position - 1 - from);
    if (newline < 0) {
      if (from + bytes.length >= size) return size;
      // Reading it again cannot help: the job fails at once with the reason.
      throw new DataError(`a record starting before byte ${position} is longer than ${MAX_RECORD_BYTES} bytes`);
    }
    return from + newline + 1;
  };
  const a = startOf(start);
  const b = Math.max(a, startOf(end));
  const region = bytes.subarray(a - from, b - from);
  return { bytes: region, lines: countLines(region) };
}

function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) lines++;
  return bytes.length && bytes[bytes.length - 1] !== NEWLINE ? lines + 1 : lines;
}

/** R2 multipart parts must all be one size (but the last), of at least 5 MiB. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Gzip cannot be split by byte range, so a gzip input is decompressed once, as a stream, into an
 * uncompressed copy that is then cut into chunks like any other input: no chunk does more than its
 * share. Returns the copy's size.
 */
export async function stageGzip(bucket: R2Bucket, key: string, target: string, maxBytes: number): Promise<number> {
  const object = await bucket.get(key);
  if (!object) throw new DataError(`input object '${key}' is gone`);
  const reader = inflate(object.body, 'gzip').getReader();
  const upload = await bucket.createMultipartUpload(target);
  const parts: R2UploadedPart[] = [];
  // Decompressed pieces waiting for a whole part; joined once per part, not once per piece.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let total = 0;
  const next = () =>
    reader.read().catch(() => {
      throw new DataError('input is named .gz but is not gzip data');
    });
  try {
    for (let read = await next(); ; read = await next()) {
      if (read.value) {
        total += read.value.byteLength;
        if (total > maxBytes) throw new DataError(`decompressed input exceeds ${maxBytes} bytes`);
        pending.push(read.value);
        pendingBytes += read.value.byteLength;
      }
      if (read.done && total === 0) {
        await upload.abort();
        await bucket.put(target, new Uint8Array(0));
        return 0;
      }
      if (pendingBytes >= PART_BYTES || (read.done && pendingBytes > 0)) {
        let joined = concatBytes(pending);
        for (; joined.byteLength >= PART_BYTES || (read.done && joined.byteLength > 0); joined = joined.subarray(PART_BYTES)) {
          parts.push(await upload.uploadPart(parts.length + 1, joined.subarray(0, PART_BYTES)));
        }
        [pending, pendingBytes] = [[joined], joined.byteLength];
      }
      if (read.done) break;
    }
    await upload.complete(parts);
    return total;
  } catch (error) {
    await upload.abort().catch(() => undefined);
    await reader.cancel().catch(() => undefined);
    throw error;
  }
}

/** A failure of the input itself: retrying cannot help, so the job fails at once with this reason. */
export class DataError extends Error {
  override readonly name = 'DataError';
}
