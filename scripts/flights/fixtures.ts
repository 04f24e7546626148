// Test fixtures for the flights-delay model: test/fixtures/flights-sample.csv (the first 2,000 rows
// of data/flights/flights-3m.csv), flights-reference.json (onnxruntime-node outputs for them),
// flights-awkward.csv (hand-made CSV edge cases) with flights-awkward.json (what each line should
// give). Also checks that onnxruntime-web (wasm) agrees with onnxruntime-node. Called by train.ts;
// run alone to rebuild the fixtures from the current model: node scripts/flights/fixtures.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { writeJson } from '../make-fixtures.ts';
import { columnsOf, parseFlight, readLines, toFeeds, type Flight } from './csv.ts';

const root = resolve(import.meta.dirname, '../..');
const SAMPLE_ROWS = 2000;

// Line 1 header; 2 plain; 3 quoted fields; 4 ends in CRLF; 5 blank; 6 missing column;
// 7 non-numeric distance; 8 UTF-8 airport name in quotes with a comma; 9 escaped quote in a
// quoted field; 10 plain, no trailing newline.
const AWKWARD = [
  'id,hour,weekday,origin,destination,distance,delay\n',
  '1,8,2,SFO,LAX,337,5\n',
  '2,"9",3,"ORD","JFK","740",12\n',
  '3,10,4,ATL,DFW,731,-3\r\n',
  '\n',
  '5,11,1,SEA,PDX,129\n',
  '6,12,2,BOS,DCA,abc,0\n',
  '7,13,3,"Zürich, Kloten",JFK,3920,45\n',
  '8,14,4,"O""Hare",LGA,733,2\n',
  '9,23,6,DEN,SLC,391,-7',
].join('');

const f = (id: string, hour: number, weekday: number, origin: string, destination: string, distance: number, delay: number): Flight =>
  ({ id, hour, weekday, origin, destination, distance, delay });

/** What a CSV reader that follows RFC 4180 should make of AWKWARD, line by line. */
const AWKWARD_RECORDS: { line: number; record: Flight }[] = [
  { line: 2, record: f('1', 8, 2, 'SFO', 'LAX', 337, 5) },
  { line: 3, record: f('2', 9, 3, 'ORD', 'JFK', 740, 12) },
  { line: 4, record: f('3', 10, 4, 'ATL', 'DFW', 731, -3) },
  { line: 8, record: f('7', 13, 3, 'Zürich, Kloten', 'JFK', 3920, 45) },
  { line: 9, record: f('8', 14, 4, 'O"Hare', 'LGA', 733, 2) },
  { line: 10, record: f('9', 23, 6, 'DEN', 'SLC', 391, -7) },
];
const AWKWARD_INVALID = [
  { line: 6, id: '5', reason: 'missing column: 6 fields, the header has 7' },
  { line: 7, id: '6', reason: 'distance "abc" is not a number' },
];

// Unknown airports, out-of-range hour and weekday, zero and negative distance: never an error.
const EDGES: Flight[] = [
  f('e1', -1, 7, '', 'XXX', 0, 0),
  f('e2', 24, -1, 'atl', 'ATL', -5, 0),
  f('e3', 1e6, 3, 'ATL', '', 1e6, 0),
];

async function run(ort: typeof ortNode | typeof ortWeb, model: Uint8Array, rows: Flight[]) {
  const session = await (ort.InferenceSession as typeof ortNode.InferenceSession).create(model, { logSeverityLevel: 3 });
  const out = await session.run(toFeeds(ort.Tensor as typeof ortNode.Tensor, rows));
  await session.release();
  const p = Array.from(out.probability!.data as Float32Array);
  const delayed = Array.from(out.delayed!.data as Uint8Array, Boolean);
  if (p.length !== rows.length || p.some((v) => !(v >= 0 && v <= 1))) throw new Error('probability out of [0, 1]');
  return { p, delayed };
}

export async function writeFixtures(model: Uint8Array): Promise<void> {
  const lines: string[] = [];
  for await (const line of readLines(resolve(root, 'data/flights/flights-3m.csv'))) {
    lines.push(line);
    if (lines.length > SAMPLE_ROWS) break;
  }
  const cols = columnsOf(lines[0]!);
  const rows = lines.slice(1).map((l) => parseFlight(l, cols) as Flight);
  writeFileSync(resolve(root, 'test/fixtures/flights-sample.csv'), lines.join('\n') + '\n');

  ortWeb.env.wasm.numThreads = 1;
  const node = await run(ortNode, model, rows);
  const web = await run(ortWeb, model, rows);
  const maxDiff = Math.max(...node.p.map((v, i) => Math.abs(v - web.p[i]!)));
  const flips = node.delayed.filter((v, i) => v !== web.delayed[i]).length;
  console.log(`onnxruntime-web vs node on ${rows.length} rows: max |Δp| ${maxDiff}, ${flips} decisions differ`);
  if (maxDiff > 1e-5 || flips) throw new Error('onnxruntime-web disagrees with onnxruntime-node');
  for (const ort of [ortNode, ortWeb]) {
    const edge = await run(ort, model, EDGES);
    const empty = await run(ort, model, []);
    console.log(`edge cases: p = ${edge.p.map((v) => v.toFixed(4)).join(', ')}; empty batch -> ${empty.p.length} rows`);
  }

  // One row per line: 2,000 rows stay readable and diff row by row.
  const refRows = rows.map((r, i) => JSON.stringify({ line: i + 2, id: Number(r.id), probability: node.p[i], delayed: node.delayed[i] }));
  writeFileSync(resolve(root, 'test/fixtures/flights-reference.json'),
    `{\n  "columns": ${JSON.stringify(lines[0]!.split(','))},\n  "rows": [\n    ${refRows.join(',\n    ')}\n  ]\n}\n`);

  writeFileSync(resolve(root, 'test/fixtures/flights-awkward.csv'), AWKWARD);
  const awk = await run(ortNode, model, AWKWARD_RECORDS.map((r) => r.record));
  writeJson(resolve(root, 'test/fixtures/flights-awkward.json'), {
    note: 'Expected reading of flights-awkward.csv: line 5 is blank; invalid lines have no output',
    rows: AWKWARD_RECORDS.map(({ line, record }, i) => ({ line, id: Number(record.id), origin: record.origin, probability: awk.p[i], delayed: awk.delayed[i] })),
    invalid: AWKWARD_INVALID.map((r) => ({ ...r, id: Number(r.id) })),
  });
  console.log('wrote test/fixtures/flights-{sample.csv,reference.json,awkward.csv,awkward.json}');
}

if (import.meta.main) await writeFixtures(readFileSync(resolve(root, 'models/flights-delay/1/model.onnx')));
