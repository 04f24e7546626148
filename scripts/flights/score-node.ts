// Offline batch scoring baseline: streams a flights CSV through the flights-delay model with
// onnxruntime-node in batches of 4096 in one plain Node process, and prints one JSON line
// {rows, seconds, rows_per_s, peak_rss_mb, errors}. Lines that are not records are counted
// as errors and skipped (the first few reported on stderr); blank lines are ignored.
// Run: node scripts/flights/score-node.ts <csv> [--out scores.csv] [--threads N] [--model path]
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { columnsOf, parseFlight, readLines, toFeeds, type Columns, type Flight } from './csv.ts';

const BATCH = 4096;
const root = resolve(import.meta.dirname, '../..');
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, threads: { type: 'string' }, model: { type: 'string' } },
});
if (positionals.length !== 1) throw new Error('usage: node scripts/flights/score-node.ts <csv> [--out scores.csv] [--threads N] [--model path]');

const started = performance.now();
const session = await ort.InferenceSession.create(readFileSync(opts.model ?? resolve(root, 'models/flights-delay/1/model.onnx')), {
  logSeverityLevel: 3,
  ...(opts.threads ? { intraOpNumThreads: Number(opts.threads), interOpNumThreads: 1 } : {}),
});
const out = opts.out ? createWriteStream(opts.out) : null;
out?.write('id,probability,delayed\n');

let rows = 0, errors = 0, lineNo = 0;
let cols: Columns | undefined;
let batch: Flight[] = [];

async function flush(): Promise<void> {
  if (!batch.length) return;
  const result = await session.run(toFeeds(ort.Tensor, batch));
  rows += batch.length;
  if (out) {
    const p = result.probability!.data as Float32Array, delayed = result.delayed!.data as Uint8Array;
    const text = batch.map((r, i) => `${r.id},${p[i]},${delayed[i] ? 1 : 0}\n`).join('');
    if (!out.write(text)) await once(out, 'drain');
  }
  batch = [];
}

for await (const line of readLines(positionals[0]!)) {
  lineNo++;
  if (!cols) {
    cols = columnsOf(line.replace(/^\uFEFF/, ''));
    continue;
  }
  if (line === '') continue;
  const r = parseFlight(line, cols);
  if (typeof r === 'string') {
    if (errors++ < 5) console.error(`line ${lineNo}: ${r}`);
    continue;
  }
  batch.push(r);
  if (batch.length === BATCH) await flush();
}
await flush();
if (out) {
  out.end();
  await once(out, 'finish');
}
await session.release();

const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({
  rows,
  seconds: Math.round(seconds * 100) / 100,
  rows_per_s: Math.round(rows / seconds),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  errors,
}));
