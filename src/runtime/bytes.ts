// Byte buffers: joining parts, and reading a stream whole up to a limit so a small compressed body cannot expand without bound.
export class TooLarge extends Error {
  override readonly name = 'TooLarge';
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** BYTES elements as the binary tensor extension carries them: each a 4-byte little-endian length, then its UTF-8. */
export function encodeStrings(strings: readonly string[]): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of encoded) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}

export async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new TooLarge(`more than ${limit} bytes`);
    }
    parts.push(read.value);
  }
  return concatBytes(parts);
}

/** Compressed input is fed to the inflater this much at a time: one slice can expand by at most ~16 MiB (deflate's limit is about 1032:1). */
const INFLATE_SLICE = 16 * 1024;

/**
 * Decompresses a stream. A DecompressionStream emits the whole expansion of each input chunk at once,
 * so the input is cut into small slices first: a reader with a limit then sees the output grow in
 * bounded steps, and backpressure stops the inflater while the reader is not reading.
 */
export function inflate(body: ReadableStream<Uint8Array>, format: 'gzip' | 'deflate'): ReadableStream<Uint8Array> {
  const slices = new TransformStream<Uint8Array, Uint8Array>(
    {
      transform(chunk, controller) {
        for (let at = 0; at < chunk.byteLength; at += INFLATE_SLICE) controller.enqueue(chunk.subarray(at, at + INFLATE_SLICE));
      },
    },
    undefined,
    { highWaterMark: 1 },
  );
  return body.pipeThrough(slices).pipeThrough(new DecompressionStream(format));
}
