// Flights CSV records (id,hour,weekday,origin,destination,distance[,delay]) and the model's
// per-feature input tensors. Fields are split on commas: the prepared files never quote (airport
// codes are three letters), so a line with a double quote is refused rather than misread.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export const FEATURES = ['hour', 'weekday', 'origin', 'destination', 'distance'] as const;

export interface Flight {
  id: string;
  hour: number;
  weekday: number;
  origin: string;
  destination: string;
  distance: number;
  delay: number | null;
}

/** Lines of a text file, LF or CRLF, streamed. */
export function readLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path), crlfDelay: Infinity });
}

export interface Columns { id: number; delay: number; width: number; features: number[] }

/** Column positions from the header row; id, delay are -1 when absent. */
export function columnsOf(header: string): Columns {
  const names = header.split(',').map((s) => s.trim());
  const features = FEATURES.map((f) => names.indexOf(f));
  const missing = FEATURES.filter((_, i) => features[i] === -1);
  if (missing.length) throw new Error(`CSV header lacks ${missing.join(', ')}`);
  return { id: names.indexOf('id'), delay: names.indexOf('delay'), width: names.length, features };
}

const INT = /^-?\d+$/;

/** One record, or the reason the line is not one. */
export function parseFlight(line: string, cols: Columns): Flight | string {
  if (line.includes('"')) return 'quoted fields are not supported';
  const f = line.split(',');
  if (f.length !== cols.width) return `${f.length} fields, expected ${cols.width}`;
  const [h, w, o, d, dist] = cols.features.map((i) => f[i]!);
  if (!INT.test(h!) || !INT.test(w!)) return 'hour and weekday must be integers';
  // Number('') is 0, so empty strings are refused explicitly.
  const distance = dist!.trim() === '' ? NaN : Number(dist);
  if (!Number.isFinite(distance)) return 'distance is not a number';
  const delay = cols.delay >= 0 ? Number(f[cols.delay]) : null;
  return { id: cols.id >= 0 ? f[cols.id]! : '', hour: Number(h), weekday: Number(w), origin: o!, destination: d!, distance, delay };
}

type TensorCtor<T> = new (type: 'int64' | 'float32' | 'string', data: BigInt64Array | Float32Array | string[], dims: number[]) => T;

/** The model's feeds for a list of records: every input is one value per record. */
export function toFeeds<T>(Tensor: TensorCtor<T>, rows: Flight[]): Record<string, T> {
  const n = rows.length;
  return {
    hour: new Tensor('int64', BigInt64Array.from(rows, (r) => BigInt(r.hour)), [n]),
    weekday: new Tensor('int64', BigInt64Array.from(rows, (r) => BigInt(r.weekday)), [n]),
    origin: new Tensor('string', rows.map((r) => r.origin), [n]),
    destination: new Tensor('string', rows.map((r) => r.destination), [n]),
    distance: new Tensor('float32', Float32Array.from(rows, (r) => r.distance), [n]),
  };
}
