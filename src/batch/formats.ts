// Input formats: CSV with a header row or JSON Lines, optionally gzip; detected from the file name.
import { badRequest } from '../runtime/errors';

export type Format = 'csv' | 'jsonl';

export interface InputFormat {
  format: Format;
  gzip: boolean;
}

export function formatOf(key: string, declared?: Format): InputFormat {
  const gzip = key.endsWith('.gz');
  const name = gzip ? key.slice(0, -3) : key;
  const format = declared ?? (name.endsWith('.csv') ? 'csv' : /\.(jsonl|ndjson)$/.test(name) ? 'jsonl' : undefined);
  if (!format) throw badRequest(`cannot tell the format of '${key}': name it .csv, .jsonl or .ndjson (optionally .gz), or give "format"`);
  return { format, gzip };
}
