// Trains the flights delay classifier, P(arrival delay > 15 min) from hour, weekday, origin,
// destination and distance (an MLP with one ReLU layer, trained with scripts/train.ts) on
// data/flights/flights-3m.csv (run prepare.ts first), and writes models/flights-delay/1/model.onnx,
// its config.json and the test fixtures (fixtures.ts).
// All encoding lives in the graph: Equal against an int range for hour and weekday (all zeros
// when out of range), Equal against a string vocabulary for the airports (opset 19), and a
// standardised log-distance. Seeded: two runs write byte-identical files.
// Run: node scripts/flights/train.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { encodeModel, floatTensor, int64Tensor, node, stringTensor, valueInfo, type GraphSpec } from '../onnx-builder.ts';
import { initMlp, predict, seededRandom, train, type Mlp } from '../train.ts';
import { writeJson } from '../make-fixtures.ts';
import { columnsOf, parseFlight, readLines, toFeeds, type Flight } from './csv.ts';
import { writeFixtures } from './fixtures.ts';

const root = resolve(import.meta.dirname, '../..');
const DATA = 'data/flights/flights-3m.csv';
const MODEL = 'models/flights-delay/1/model.onnx';
const SCRIPT = 'scripts/flights/train.ts';
const OPSET = 19; // the first opset whose Equal accepts strings
const AIRPORTS = 200; // vocabulary size; rarer airports share the "other" column
const HIDDEN = 128;
const EPOCHS = 3;
// train.ts takes dense inputs (434 floats a row): the split is fed in chunks to bound memory.
const CHUNK = 700_000;
const THRESHOLD = 0.5;
const LATE = 15;

// ---------------------------------------------------------------- data

const names: string[] = [];
const nameId = new Map<string, number>();
const airport = (s: string) => nameId.get(s) ?? (nameId.set(s, names.length), names.push(s) - 1);

async function load() {
  const cap = 3_100_000;
  const hour = new Uint8Array(cap), weekday = new Uint8Array(cap), origin = new Uint16Array(cap), dest = new Uint16Array(cap);
  const distance = new Float32Array(cap), late = new Uint8Array(cap);
  let n = 0;
  let cols;
  for await (const line of readLines(resolve(root, DATA))) {
    if (!cols) { cols = columnsOf(line); continue; }
    if (n === cap) throw new Error(`${DATA}: more than ${cap} rows`);
    const r = parseFlight(line, cols);
    if (typeof r === 'string' || r.delay === null) throw new Error(`${DATA} line ${n + 2}: ${r}`);
    hour[n] = r.hour; weekday[n] = r.weekday; origin[n] = airport(r.origin); dest[n] = airport(r.destination);
    distance[n] = r.distance; late[n] = r.delay > LATE ? 1 : 0;
    n++;
  }
  return { n, hour, weekday, origin, dest, distance, late };
}
type Data = Awaited<ReturnType<typeof load>>;

const flight = (d: Data, i: number): Flight => ({
  id: String(i + 1), hour: d.hour[i]!, weekday: d.weekday[i]!, origin: names[d.origin[i]!]!, destination: names[d.dest[i]!]!, distance: d.distance[i]!, delay: null,
});

// ---------------------------------------------------------------- features

interface Encoding { vocab: string[]; min: number; max: number; mean: number; std: number }

const width = (e: Encoding) => 24 + 7 + 2 * (e.vocab.length + 1) + 1;

/** The graph's input layout in plain code: [hour 24 | weekday 7 | origin V+1 | destination V+1 | z(log distance)]. */
function encodeRows(d: Data, e: Encoding, rows: Int32Array, buf?: Float32Array): Float32Array {
  const V = e.vocab.length, D = width(e);
  const index = new Int32Array(names.length).fill(V);
  e.vocab.forEach((a, k) => (index[nameId.get(a)!] = k));
  const x = buf ? buf.subarray(0, rows.length * D).fill(0) : new Float32Array(rows.length * D);
  rows.forEach((i, r) => {
    const o = r * D;
    x[o + d.hour[i]!] = 1;
    x[o + 24 + d.weekday[i]!] = 1;
    x[o + 31 + index[d.origin[i]!]!] = 1;
    x[o + 31 + V + 1 + index[d.dest[i]!]!] = 1;
    x[o + D - 1] = (Math.fround(Math.log(Math.min(Math.max(d.distance[i]!, e.min), e.max))) - e.mean) / e.std;
  });
  return x;
}

function fitEncoding(d: Data, rows: Int32Array): Encoding {
  const counts = new Float64Array(names.length);
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const i of rows) {
    counts[d.origin[i]!]!++;
    counts[d.dest[i]!]!++;
    min = Math.min(min, d.distance[i]!);
    max = Math.max(max, d.distance[i]!);
    const l = Math.log(d.distance[i]!);
    s += l;
    s2 += l * l;
  }
  const ranked = names.map((_, k) => k).filter((k) => counts[k]! > 0).sort((a, b) => counts[b]! - counts[a]! || (names[a]! < names[b]! ? -1 : 1));
  const mean = s / rows.length;
  return { vocab: ranked.slice(0, AIRPORTS).map((k) => names[k]!), min, max, mean: Math.fround(mean), std: Math.fround(Math.sqrt(s2 / rows.length - mean * mean)) };
}

// ---------------------------------------------------------------- graph

function buildModel(mlp: Mlp, e: Encoding): Uint8Array {
  const nodes = [
    node('Unsqueeze', ['hour', 'axis1'], ['hour_col']),
    node('Equal', ['hour_col', 'hours'], ['hour_eq']),
    node('Unsqueeze', ['weekday', 'axis1'], ['weekday_col']),
    node('Equal', ['weekday_col', 'weekdays'], ['weekday_eq']),
    ...['origin', 'destination'].flatMap((f) => [
      node('Unsqueeze', [f, 'axis1'], [`${f}_col`]),
      node('Equal', [`${f}_col`, 'airports'], [`${f}_eq`]),
      node('Cast', [`${f}_eq`], [`${f}_known`], { to: 1 }),
      node('ReduceSum', [`${f}_known`, 'axis1'], [`${f}_hits`], { keepdims: 1 }),
      node('Sub', ['one', `${f}_hits`], [`${f}_other`]),
    ]),
    node('Cast', ['hour_eq'], ['hour_x'], { to: 1 }),
    node('Cast', ['weekday_eq'], ['weekday_x'], { to: 1 }),
    // Clipping to the training range keeps Log finite and the network inside what it has seen.
    node('Clip', ['distance', 'distance_min', 'distance_max'], ['distance_c']),
    node('Log', ['distance_c'], ['log_distance']),
    node('Sub', ['log_distance', 'log_distance_mean'], ['log_distance_c']),
    node('Div', ['log_distance_c', 'log_distance_std'], ['log_distance_z']),
    node('Unsqueeze', ['log_distance_z', 'axis1'], ['distance_x']),
    node('Concat', ['hour_x', 'weekday_x', 'origin_known', 'origin_other', 'destination_known', 'destination_other', 'distance_x'], ['x'], { axis: 1 }),
  ];
  const initializers = [
    int64Tensor('axis1', [1], [1]),
    int64Tensor('hours', [24], Array.from({ length: 24 }, (_, i) => i)),
    int64Tensor('weekdays', [7], Array.from({ length: 7 }, (_, i) => i)),
    stringTensor('airports', [e.vocab.length], e.vocab),
    floatTensor('one', [], new Float32Array([1])),
    floatTensor('distance_min', [], new Float32Array([e.min])),
    floatTensor('distance_max', [], new Float32Array([e.max])),
    floatTensor('log_distance_mean', [], new Float32Array([e.mean])),
    floatTensor('log_distance_std', [], new Float32Array([e.std])),
    floatTensor('threshold', [], new Float32Array([THRESHOLD])),
    int64Tensor('flat', [1], [-1]),
  ];
  // Two-class softmax = sigmoid of the logit difference, so the last layer folds to one column.
  const layers = mlp.layers.map((l, k) => {
    if (k < mlp.layers.length - 1) return l;
    const W = new Float32Array(l.inDim);
    for (let i = 0; i < l.inDim; i++) W[i] = l.W[i * 2 + 1]! - l.W[i * 2]!;
    return { inDim: l.inDim, outDim: 1, W, b: new Float32Array([l.b[1]! - l.b[0]!]) };
  });
  let h = 'x';
  layers.forEach((l, k) => {
    initializers.push(floatTensor(`W${k}`, [l.inDim, l.outDim], l.W), floatTensor(`b${k}`, [l.outDim], l.b));
    const last = k === layers.length - 1;
    nodes.push(node('Gemm', [h, `W${k}`, `b${k}`], [last ? 'logit' : `z${k}`]));
    if (!last) nodes.push(node('Relu', [`z${k}`], [(h = `h${k}`)]));
  });
  nodes.push(
    node('Sigmoid', ['logit'], ['probability_col']),
    node('Reshape', ['probability_col', 'flat'], ['probability']),
    node('GreaterOrEqual', ['probability', 'threshold'], ['delayed']),
  );
  const spec: GraphSpec = {
    name: 'flights_delay',
    doc: `P(arrival delay > ${LATE} min) of a US flight from scheduled departure hour, weekday (0 = Monday), origin and destination airport codes and distance in miles.`,
    nodes,
    initializers,
    inputs: [
      valueInfo('hour', 'INT64', ['batch']), valueInfo('weekday', 'INT64', ['batch']),
      valueInfo('origin', 'STRING', ['batch']), valueInfo('destination', 'STRING', ['batch']),
      valueInfo('distance', 'FLOAT', ['batch']),
    ],
    outputs: [valueInfo('probability', 'FLOAT', ['batch']), valueInfo('delayed', 'BOOL', ['batch'])],
  };
  // encodeModel pins the default-domain opset; string Equal needs a later one.
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(encodeModel(spec));
  model.opsetImport = [{ domain: '', version: OPSET }];
  model.producerName = `edge-inference/${SCRIPT}`;
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------- metrics

/** Probabilities and decisions from onnxruntime-node, in batches. */
async function score(session: ort.InferenceSession, d: Data, rows: Int32Array): Promise<{ p: Float32Array; delayed: Uint8Array }> {
  const p = new Float32Array(rows.length), delayed = new Uint8Array(rows.length);
  for (let s = 0; s < rows.length; s += 65536) {
    const batch = Array.from(rows.subarray(s, s + 65536), (i) => flight(d, i));
    const out = await session.run(toFeeds(ort.Tensor, batch));
    p.set(out.probability!.data as Float32Array, s);
    delayed.set(out.delayed!.data as Uint8Array, s);
  }
  return { p, delayed };
}

/** Area under the ROC curve from ranks, ties sharing their average rank. */
function auc(p: Float32Array, y: Uint8Array): number {
  const order = Int32Array.from(p, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let pos = 0, rankSum = 0;
  for (let s = 0; s < order.length;) {
    let e = s;
    while (e < order.length && p[order[e]!] === p[order[s]!]) e++;
    const rank = (s + 1 + e) / 2;
    for (let k = s; k < e; k++) if (y[order[k]!]) { pos++; rankSum += rank; }
    s = e;
  }
  const neg = order.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

const logloss = (p: ArrayLike<number>, y: Uint8Array) => {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.min(Math.max(y[i] ? p[i]! : 1 - p[i]!, 1e-7), 1));
  return s / y.length;
};
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

// ---------------------------------------------------------------- main

const started = performance.now();
const secs = () => ((performance.now() - started) / 1000).toFixed(1);
const d = await load();
console.log(`${d.n} rows, ${names.length} airports (${secs()} s)`);

const rand = seededRandom(2001);
const trainIdx: number[] = [], testIdx: number[] = [];
for (let i = 0; i < d.n; i++) (rand() < 0.9 ? trainIdx : testIdx).push(i);
const trainRows = Int32Array.from(trainIdx), test = Int32Array.from(testIdx);
const enc = fitEncoding(d, trainRows);

const mlp = initMlp([width(enc), HIDDEN, 2], 'relu', rand);
const xbuf = new Float32Array(CHUNK * width(enc));
let lr = 2e-3;
for (let epoch = 1; epoch <= EPOCHS; epoch++, lr /= 2) {
  for (let i = trainRows.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [trainRows[i], trainRows[j]] = [trainRows[j]!, trainRows[i]!];
  }
  // Each call starts fresh Adam moments; one call per chunk costs little at this chunk size.
  for (let s = 0; s < trainRows.length; s += CHUNK) {
    const rows = trainRows.subarray(s, s + CHUNK);
    const log = (_: number, loss: number) => console.log(`epoch ${epoch} rows ${s + rows.length}: loss ${loss.toFixed(4)} (${secs()} s)`);
    train(mlp, encodeRows(d, enc, rows, xbuf), Uint8Array.from(rows, (i) => d.late[i]!), { epochs: 1, batchSize: 256, lr, log }, rand);
  }
}

const model = buildModel(mlp, enc);
const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
const testY = Uint8Array.from(test, (i) => d.late[i]!);
const { p, delayed } = await score(session, d, test);

// The graph must encode exactly as encodeRows does: compare decisions with the training code's.
const check = test.subarray(0, 20_000);
const jsLabels = predict(mlp, encodeRows(d, enc, check), check.length);
const disagree = jsLabels.filter((l, k) => l !== delayed[k]).length;
if (disagree > 2) throw new Error(`graph and training code disagree on ${disagree} of ${check.length} rows`);
await session.release();

let trainLate = 0;
for (const i of trainIdx) trainLate += d.late[i]!;
const baseRate = trainLate / trainIdx.length;
const testRate = testY.reduce((a, b) => a + b, 0) / testY.length;
const acc = delayed.reduce((a, v, k) => a + (v === testY[k] ? 1 : 0), 0) / testY.length;
const metrics = {
  holdout_rows: testY.length,
  holdout_accuracy: round4(acc),
  majority_accuracy: round4(1 - testRate),
  auc: round4(auc(p, testY)),
  base_rate: round4(testRate),
  logloss: round4(logloss(p, testY)),
  baseline_logloss: round4(logloss(new Float32Array(testY.length).fill(baseRate), testY)),
  predicted_delayed: round4(delayed.reduce((a, b) => a + b, 0) / testY.length),
};
console.log(JSON.stringify(metrics), `(${secs()} s)`);

mkdirSync(dirname(resolve(root, MODEL)), { recursive: true });
writeFileSync(resolve(root, MODEL), model);
console.log(`wrote ${MODEL} (${model.length} bytes)`);
writeJson(resolve(root, 'models/flights-delay/config.json'), {
  description: `US flight delay classifier: probability = P(arrival delay > ${LATE} min), delayed = probability >= ${THRESHOLD}, from scheduled departure hour, weekday (0 = Monday), origin and destination (IATA codes; ${AIRPORTS} airports, others share one bucket) and distance in miles; MLP ${width(enc)}-${HIDDEN}-1 over one-hot features`,
  platform: 'onnxruntime_onnx',
  max_batch_size: 4096,
  features: ['hour', 'weekday', 'origin', 'destination', 'distance'],
  batch: { id_column: 'id' },
  training: {
    data: `US DOT on-time performance, Jan-Jun 2001 (npm vega-datasets flights-3m.parquet; see data/flights/README.md), ${DATA}; trained on a seeded random 90% split, metrics on the other 10%`,
    rows: d.n,
    train_rows: trainRows.length,
    epochs: EPOCHS,
    ...metrics,
    script: SCRIPT,
  },
});
console.log('wrote models/flights-delay/config.json');
await writeFixtures(model);
console.log(`done (${secs()} s)`);
