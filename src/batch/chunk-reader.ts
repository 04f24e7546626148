// Reads the records a chunk owns: those that start inside its byte range, read through to their end.
import { inflate, readAtMost, TooLarge } from '../runtime/bytes';
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

/** A whole gzip object, decompressed: gzip cannot be split by byte range, so it is one chunk. */
export async function readGzip(bucket: R2Bucket, key: string, maxBytes: number): Promise<OwnedRegion> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`input object '${key}' is gone`);
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(inflate(object.body, 'gzip'), maxBytes);
  } catch (error) {
    // Corrupt gzip was refused when the job was planned; other errors may pass, so they retry.
    if (error instanceof TooLarge) throw new DataError(`decompressed input exceeds ${maxBytes} bytes; split it or upload it uncompressed`);
    throw error;
  }
  return { bytes, lines: countLines(bytes) };
}

/** A failure of the input itself: retrying cannot help, so the job fails at once with this reason. */
export class DataError extends Error {
  override readonly name = 'DataError';
}
