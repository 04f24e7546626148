// Converts node_modules/vega-datasets/data/flights-3m.parquet into data/flights/flights-3m.csv
// (id,hour,weekday,origin,destination,distance,delay) plus its first 30k and 300k rows, one
// Parquet row group at a time so memory stays bounded. Run: node scripts/flights/prepare.ts
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from 'hyparquet';

const root = resolve(import.meta.dirname, '../..');
const SOURCE = resolve(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
const OUT = resolve(root, 'data/flights');
const HEADER = 'id,hour,weekday,origin,destination,distance,delay';
const COLUMNS = ['date', 'delay', 'distance', 'origin', 'destination'];

// The file is ZSTD-compressed, which hyparquet does not decode by itself.
const compressors = { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) };

/**
 * `date` is a Parquet TIMESTAMP(MICROS, isAdjustedToUTC=false): local wall-clock time, so its
 * UTC fields are the local hour and day. It is the actual departure (vega-datasets builds it as
 * scheduled time + departure delay), and only the arrival delay is kept, so the scheduled
 * departure is estimated as date - delay: off by the minutes made up or lost en route, where the
 * actual hour would tell the model that late-night departures are the delayed ones.
 * Weekday is 0 = Monday .. 6 = Sunday.
 */
function scheduled(date: Date, delayMinutes: number): { year: number; hour: number; weekday: number } {
  const d = new Date(date.getTime() - delayMinutes * 60_000);
  return { year: d.getUTCFullYear(), hour: d.getUTCHours(), weekday: (d.getUTCDay() + 6) % 7 };
}

class Sink {
  readonly out: WriteStream;
  readonly limit: number;
  constructor(name: string, limit: number) {
    this.limit = limit;
    this.out = createWriteStream(resolve(OUT, name));
    this.out.write(HEADER + '\n');
  }
  async write(chunk: string): Promise<void> {
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const file = await asyncBufferFromFile(SOURCE);
  const meta = await parquetMetadataAsync(file);
  const names = meta.schema.slice(1).map((s) => s.name);
  if (COLUMNS.some((c) => !names.includes(c))) throw new Error(`unexpected columns: ${names}`);

  const sinks = [new Sink('flights-3m.csv', Infinity), new Sink('flights-300k.csv', 300_000), new Sink('flights-30k.csv', 30_000)];
  const years = new Map<number, number>();
  let minDate = Infinity, maxDate = -Infinity;
  let id = 0;
  let rowStart = 0;
  for (const group of meta.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const cols = new Map<string, ArrayLike<unknown>>();
    await parquetRead({
      file, columns: COLUMNS, rowStart, rowEnd, compressors,
      onChunk: (c) => { if (c.rowStart === rowStart && c.rowEnd === rowEnd) cols.set(c.columnName, c.columnData); },
    });
    const [date, delay, distance, origin, destination] = COLUMNS.map((c) => cols.get(c));
    if (!date || !delay || !distance || !origin || !destination) throw new Error(`row group at ${rowStart}: columns not read whole`);
    rowStart = rowEnd;

    const lines: string[] = [];
    for (let i = 0; i < date.length; i++) {
      const d = date[i], o = origin[i], t = destination[i];
      if (!(d instanceof Date) || delay[i] == null || distance[i] == null || !o || !t) throw new Error(`row ${id + 1}: missing value`);
      const { year, hour, weekday } = scheduled(d, Number(delay[i]));
      years.set(year, (years.get(year) ?? 0) + 1);
      minDate = Math.min(minDate, d.getTime());
      maxDate = Math.max(maxDate, d.getTime());
      lines.push(`${++id},${hour},${weekday},${o},${t},${Number(distance[i])},${Number(delay[i])}\n`);
    }
    for (const sink of sinks) {
      const written = id - lines.length;
      const take = Math.min(lines.length, sink.limit - written);
      // Written in slices so the stream applies backpressure within a row group too.
      for (let i = 0; i < take; i += 10_000) await sink.write(lines.slice(i, Math.min(take, i + 10_000)).join(''));
    }
    console.error(`${id} rows`);
  }
  await Promise.all(sinks.map((s) => s.close()));
  console.log(JSON.stringify({
    rows: id,
    columns: meta.schema.slice(1).map((s) => ({ name: s.name, type: s.type, logical: s.logical_type?.type })),
    scheduled_years: Object.fromEntries(years),
    first: new Date(minDate).toISOString().slice(0, 16),
    last: new Date(maxDate).toISOString().slice(0, 16),
  }));
}

await main();
