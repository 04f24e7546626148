// Plans a job without reading its input whole: byte ranges for the chunks, and a look at the first line.
import { parse } from 'csv-parse/browser/esm/sync';
import type { ModelInfo } from '../runtime/loaded-model';
import { inflate } from '../runtime/bytes';
import { DataError } from './chunk-reader';
import type { InputFormat } from './formats';

const PEEK_BYTES = 64 * 1024;

export interface Range {
  start: number;
  end: number;
}

/** Byte ranges of about `chunkBytes`; gzip cannot be split, so it is one range. */
export function planRanges(size: number, chunkBytes: number): Range[] {
  if (size === 0) return [];
  return Array.from({ length: Math.ceil(size / chunkBytes) }, (_, i) => ({ start: i * chunkBytes, end: Math.min(size, (i + 1) * chunkBytes) }));
}

async function peek(bucket: R2Bucket, key: string, gzip: boolean): Promise<Uint8Array> {
  const object = await bucket.get(key, gzip ? undefined : { range: { offset: 0, length: PEEK_BYTES } });
  if (!object) throw new DataError(`input object '${key}' does not exist`);
  if (!gzip) return new Uint8Array(await object.arrayBuffer());
  const reader = inflate(object.body, 'gzip').getReader();
  try {
    const { value } = await reader.read();
    return value ?? new Uint8Array(0);
  } catch {
    throw new DataError('input is named .gz but is not gzip data');
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}

/** The CSV header (or [] for JSON Lines); an input that is not the format it claims fails here, with the reason. */
export async function inspectInput(bucket: R2Bucket, key: string, { format, gzip }: InputFormat, model: ModelInfo): Promise<string[]> {
  const head = await peek(bucket, key, gzip);
  const newline = head.indexOf(10);
  const first = head.subarray(0, newline < 0 ? head.length : newline);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(first);
  } catch {
    throw new DataError(`input is not UTF-8 text, so not ${format === 'csv' ? 'CSV' : 'JSON Lines'}`);
  }
  if (text.includes('\u0000')) throw new DataError(`input is binary data, not ${format === 'csv' ? 'CSV' : 'JSON Lines'}`);
  if (format === 'jsonl') {
    try {
      const value = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    } catch {
      throw new DataError('input is not JSON Lines: its first line is not a JSON object');
    }
    return [];
  }
  const [header] = parse(text.replace(/\r$/, ''), { bom: true }) as string[][];
  const needed = model.config.features ?? model.inputs.map((s) => s.name);
  // Some features missing is each record's error; none at all means this is not a CSV for this model.
  const missing = needed.filter((name) => !header?.includes(name));
  if (!header?.length || missing.length === needed.length) {
    throw new DataError(`CSV header names none of the model's features (${needed.join(', ')}); missing: ${missing.join(', ')}`);
  }
  return header;
}
