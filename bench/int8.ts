// Does onnxruntime-web's wasm (single thread, SIMD) run int8 models faster than FP32? Plain Node, no HTTP:
// median session.run of the bundled models against their quantised variants (scripts/quantize.ts), at batch 1
// and 32, in onnxruntime-web (the engine the Worker ships) and onnxruntime-node (one intra-op thread), with
// the accuracy of each variant on the same test data as the FP32 model and its top-1 agreement with FP32.
// Writes bench/results/int8-latest.md and a dated copy.
// Run: node bench/int8.ts   (about a minute; needs the Fashion-MNIST files, which it fetches if missing)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as native from 'onnxruntime-node';
import * as wasm from 'onnxruntime-web/wasm';
import { describeMachine } from './machine.ts';
import { ROOT } from './project.ts';
import { median } from './stats.ts';
import { calibrate, FASHION_MODE, fashionRanges, loadFashion, optimisedOps, quantize, type Mode } from '../scripts/quantize.ts';
import { columnsOf, parseFlight, toFeeds, type Flight } from '../scripts/flights/csv.ts';
import { seededRandom } from '../scripts/train.ts';
import { encodeModel, node, valueInfo } from '../scripts/onnx-builder.ts';
import onnxProto from 'onnx-proto';

wasm.env.wasm.numThreads = 1;
wasm.env.wasm.proxy = false;

const ROUNDS = 3; // interleaved rounds; the reported figure is the median of the rounds' medians
const ROUND_MS = 250; // measured time per variant, engine and round
const WARMUP = 30;
const BATCHES = [1, 32];
const SWEEP = [1, 2, 4, 8, 16, 32, 64, 128, 256]; // fashion-mnist: FP32 against int8 at each batch size

type Engine = 'wasm' | 'native';
const ENGINES: Engine[] = ['wasm', 'native'];
type AnyTensor = native.Tensor | wasm.Tensor;
type Feeds = Record<string, AnyTensor>;
// The two packages' Tensor constructors take the same arguments.
type TensorCtor = new (type: 'float32' | 'int64' | 'string', data: Float32Array | BigInt64Array | string[], dims: number[]) => AnyTensor;
const TENSOR: Record<Engine, TensorCtor> = { wasm: wasm.Tensor as unknown as TensorCtor, native: native.Tensor as unknown as TensorCtor };

interface Session {
  run(feeds: Feeds): Promise<Record<string, AnyTensor>>;
  release(): Promise<void>;
}

async function createSession(engine: Engine, bytes: Uint8Array): Promise<Session> {
  if (engine === 'wasm') {
    const s = await wasm.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return { run: (f) => s.run(f as Record<string, wasm.Tensor>), release: () => s.release() };
  }
  const s = await native.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  return { run: (f) => s.run(f as Record<string, native.Tensor>), release: () => s.release() };
}

/** Median ms of session.run over about ROUND_MS of runs, after a warm-up. */
async function timeRuns(session: Session, feeds: Feeds, budgetMs = ROUND_MS): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < WARMUP; i++) await session.run(feeds);
  const perRun = (performance.now() - started) / WARMUP;
  const runs = Math.max(50, Math.min(3000, Math.round(budgetMs / perRun)));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  return median(times);
}

interface Variant {
  name: string;
  bytes: Uint8Array;
  /** What it is, for the report. */
  what: string;
  /** Measured in every round (the others once, with a smaller budget: they are the slow, unfused forms). */
  main: boolean;
}

interface Timing { median: number; spread: number }

/** For each variant × batch × engine: the median of ROUNDS interleaved round medians, and max/min of those. */
async function measure(variants: Variant[], feedsFor: (engine: Engine, batch: number) => Feeds): Promise<Map<string, Timing>> {
  const sessions = new Map<string, Session>();
  for (const v of variants) for (const e of ENGINES) sessions.set(`${v.name}/${e}`, await createSession(e, v.bytes));
  const samples = new Map<string, number[]>();
  for (const batch of BATCHES) {
    const feeds = { wasm: feedsFor('wasm', batch), native: feedsFor('native', batch) };
    // One untimed pass first, so that the first round does not also pay for V8 warming up ORT's JS side.
    for (const v of variants) for (const e of ENGINES) await timeRuns(sessions.get(`${v.name}/${e}`)!, feeds[e], ROUND_MS / 5);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so that no variant always runs first (or right after a slow one).
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!).filter((v) => v.main || round === 0);
      for (const v of order) {
        for (const e of ENGINES) {
          const key = `${v.name}/${e}/${batch}`;
          const ms = await timeRuns(sessions.get(`${v.name}/${e}`)!, feeds[e], v.main ? ROUND_MS : ROUND_MS / 2);
          samples.set(key, [...(samples.get(key) ?? []), ms]);
        }
      }
    }
  }
  for (const s of sessions.values()) await s.release();
  const out = new Map<string, Timing>();
  for (const [k, v] of samples) out.set(k, { median: median(v), spread: Math.max(...v) / Math.min(...v) });
  return out;
}

const opsSummary = (ops: Record<string, number>) =>
  Object.entries(ops)
    .map(([op, n]) => (n > 1 ? `${op}×${n}` : op))
    .join(', ');

// ---------------------------------------------------------------- fashion-mnist

function identityModel(): Uint8Array {
  return encodeModel({
    name: 'identity',
    nodes: [node('Identity', ['input'], ['output'])],
    inputs: [valueInfo('input', 'FLOAT', ['batch', 784])],
    outputs: [valueInfo('output', 'FLOAT', ['batch', 784])],
  });
}

interface ClassifierQuality { accuracy: Record<Engine, number>; agreement: Record<Engine, number>; maxProbDiff: Record<Engine, number> }

async function fashionSection() {
  const data = loadFashion();
  const fp32 = readFileSync(join(ROOT, 'models/fashion-mnist/1/model.onnx'));
  const bundledPath = join(ROOT, 'models/fashion-mnist-int8/1/model.onnx');
  const ranges = await fashionRanges(fp32, data.trainImages);
  const make = (mode: Mode) => quantize(fp32, { mode, ranges });
  const variants: Variant[] = [
    { name: 'fp32', bytes: fp32, what: 'models/fashion-mnist (FP32)', main: true },
    { name: 'qdq', bytes: make('qdq'), what: 'QDQ: Q/DQ on activations (uint8, calibrated), DQ on int8 weights (per channel), MatMul, float bias', main: true },
    { name: 'qgemm', bytes: make('qgemm'), what: 'operator format: com.microsoft QGemm, uint8 activations from layer to layer (Relu = saturation), int32 bias', main: true },
    { name: 'dynamic', bytes: make('dynamic'), what: 'dynamic: DynamicQuantizeLinear + MatMulInteger (as quantize_dynamic writes it), no calibration', main: true },
    { name: 'qdq-gemm', bytes: make('qdq-gemm'), what: 'QDQ around Gemm with an int32 bias (the textbook form for QGemm)', main: false },
    { name: 'weight-only', bytes: make('weight-only'), what: 'int8 weights only: DQ(weight) → Gemm, float activations', main: false },
    { name: 'nbits4', bytes: make('nbits4'), what: 'MatMulNBits, 4-bit weights in blocks of 32, accuracy_level 4', main: false },
  ];
  const bundled = existsSync(bundledPath) ? readFileSync(bundledPath) : undefined;
  const shipped = variants.find((v) => v.name === FASHION_MODE)!;
  const bundledMatches = bundled !== undefined && Buffer.compare(bundled, Buffer.from(shipped.bytes)) === 0;

  // Accuracy on the 10,000 test images, in chunks of the model's max_batch_size or less.
  const n = data.testLabels.length;
  const CHUNK = 250;
  const outputs = async (engine: Engine, bytes: Uint8Array) => {
    const s = await createSession(engine, bytes);
    const labels = new Int32Array(n);
    const probs = new Float32Array(n * 10);
    for (let b = 0; b < n; b += CHUNK) {
      const x = Float32Array.from(data.testImages.subarray(b * 784, (b + CHUNK) * 784));
      const out = await s.run({ input: new TENSOR[engine]('float32', x, [x.length / 784, 784]) });
      labels.set(Array.from(out.label!.data as BigInt64Array, Number), b);
      probs.set(out.probabilities!.data as Float32Array, b * 10);
    }
    await s.release();
    return { labels, probs };
  };
  const quality = new Map<string, ClassifierQuality>();
  const reference = { wasm: await outputs('wasm', fp32), native: await outputs('native', fp32) };
  for (const v of variants) {
    const q: ClassifierQuality = { accuracy: { wasm: 0, native: 0 }, agreement: { wasm: 0, native: 0 }, maxProbDiff: { wasm: 0, native: 0 } };
    for (const e of ENGINES) {
      const o = v.name === 'fp32' ? reference[e] : await outputs(e, v.bytes);
      let hits = 0, agree = 0, maxDiff = 0;
      for (let i = 0; i < n; i++) {
        if (o.labels[i] === data.testLabels[i]) hits++;
        if (o.labels[i] === reference[e].labels[i]) agree++;
      }
      for (let i = 0; i < o.probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(o.probs[i]! - reference[e].probs[i]!));
      q.accuracy[e] = hits / n;
      q.agreement[e] = agree / n;
      q.maxProbDiff[e] = maxDiff;
    }
    quality.set(v.name, q);
  }

  const images = Float32Array.from(data.testImages.subarray(0, 32 * 784));
  const timings = await measure(variants, (engine, batch) => ({ input: new TENSOR[engine]('float32', images.slice(0, batch * 784), [batch, 784]) }));
  const ops = new Map<string, string>();
  for (const v of variants) ops.set(v.name, opsSummary(await optimisedOps(v.bytes)));

  // Where int8 starts to pay: FP32 against the shipped variant over batch sizes up to max_batch_size.
  const sweep: { batch: number; ms: Record<string, Record<Engine, number>> }[] = [];
  const pair = [variants[0]!, shipped];
  const sessions = new Map<string, Session>();
  for (const v of pair) for (const e of ENGINES) sessions.set(`${v.name}/${e}`, await createSession(e, v.bytes));
  const many = Float32Array.from(data.testImages.subarray(0, 256 * 784));
  for (const batch of SWEEP) {
    const ms: Record<string, Record<Engine, number>> = {};
    for (const v of pair) {
      ms[v.name] = { wasm: 0, native: 0 };
      for (const e of ENGINES) {
        const feeds = { input: new TENSOR[e]('float32', many.slice(0, batch * 784), [batch, 784]) };
        ms[v.name]![e] = await timeRuns(sessions.get(`${v.name}/${e}`)!, feeds, ROUND_MS / 2);
      }
    }
    sweep.push({ batch, ms });
  }
  for (const s of sessions.values()) await s.release();

  // The fixed cost of a run: one Identity on the same [1, 784] input.
  const floor = { wasm: 0, native: 0 };
  const identity = identityModel();
  for (const e of ENGINES) {
    const s = await createSession(e, identity);
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await timeRuns(s, { input: new TENSOR[e]('float32', many.slice(0, 784), [1, 784]) }, ROUND_MS / 2));
    floor[e] = median(rounds);
    await s.release();
  }
  return { variants, quality, timings, ops, ranges, sweep, floor, bundled: bundled !== undefined, bundledMatches, shipped: shipped.name };
}

// ---------------------------------------------------------------- flights-delay

const FLIGHTS_300K = join(ROOT, 'data/flights/flights-300k.csv');
const FLIGHTS_SAMPLE = join(ROOT, 'test/fixtures/flights-sample.csv');

function readFlights(path: string): Flight[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const cols = columnsOf(lines[0]!);
  return lines.slice(1).map((l, i) => {
    const r = parseFlight(l, cols);
    if (typeof r === 'string') throw new Error(`${path} line ${i + 2}: ${r}`);
    return r;
  });
}

async function flightsSection() {
  // scripts/flights/train.ts splits flights-3m.csv with seededRandom(2001), one draw per row in file order,
  // < 0.9 → training; flights-300k.csv is its first 300,000 rows, so the same draws give the same split.
  let train: Flight[], test: Flight[], source: string;
  if (existsSync(FLIGHTS_300K)) {
    const rows = readFlights(FLIGHTS_300K);
    const rand = seededRandom(2001);
    train = [];
    test = [];
    for (const r of rows) (rand() < 0.9 ? train : test).push(r);
    source = `data/flights/flights-300k.csv: calibration on 2,000 of its training-split rows, accuracy on its ${test.length.toLocaleString('en-US')} held-out rows (train.ts's seeded split; config.json's holdout_accuracy is over all 300,024 held-out rows of the six months, these are January's)`;
  } else {
    const rows = readFlights(FLIGHTS_SAMPLE);
    train = rows.slice(0, 1000);
    test = rows.slice(1000);
    source = 'test/fixtures/flights-sample.csv (data/flights/flights-300k.csv absent): calibration on rows 1–1,000, agreement on rows 1,001–2,000 (mostly training rows, so accuracy is not comparable with config.json)';
  }
  const fp32 = readFileSync(join(ROOT, 'models/flights-delay/1/model.onnx'));
  const calibrationRows = train.filter((_, i) => i % Math.max(1, Math.floor(train.length / 2000)) === 0).slice(0, 2000);
  const ranges = await calibrate(fp32, [toFeeds(native.Tensor, calibrationRows)]);
  const variants: Variant[] = [
    { name: 'fp32', bytes: fp32, what: 'models/flights-delay (FP32)', main: true },
    { name: 'qdq', bytes: quantize(fp32, { mode: 'qdq', ranges }), what: 'QDQ (MatMulIntegerToFloat)', main: true },
    { name: 'qgemm', bytes: quantize(fp32, { mode: 'qgemm', ranges }), what: 'QGemm, uint8 between the layers', main: true },
    { name: 'dynamic', bytes: quantize(fp32, { mode: 'dynamic' }), what: 'dynamic (DynamicQuantizeMatMul)', main: true },
  ];
  const late = test.map((r) => (r.delay! > 15 ? 1 : 0));
  const score = async (engine: Engine, bytes: Uint8Array) => {
    const s = await createSession(engine, bytes);
    const p = new Float32Array(test.length), delayed = new Uint8Array(test.length);
    for (let b = 0; b < test.length; b += 4096) {
      const out = await s.run(toFeeds(TENSOR[engine], test.slice(b, b + 4096)) as Feeds);
      p.set(out.probability!.data as Float32Array, b);
      delayed.set(Array.from(out.delayed!.data as Uint8Array, (v) => (v ? 1 : 0)), b);
    }
    await s.release();
    return { p, delayed };
  };
  const quality = new Map<string, ClassifierQuality>();
  const reference = { wasm: await score('wasm', fp32), native: await score('native', fp32) };
  for (const v of variants) {
    const q: ClassifierQuality = { accuracy: { wasm: 0, native: 0 }, agreement: { wasm: 0, native: 0 }, maxProbDiff: { wasm: 0, native: 0 } };
    for (const e of ENGINES) {
      const o = v.name === 'fp32' ? reference[e] : await score(e, v.bytes);
      let hits = 0, agree = 0, maxDiff = 0;
      for (let i = 0; i < test.length; i++) {
        if (o.delayed[i] === late[i]) hits++;
        if (o.delayed[i] === reference[e].delayed[i]) agree++;
        maxDiff = Math.max(maxDiff, Math.abs(o.p[i]! - reference[e].p[i]!));
      }
      q.accuracy[e] = hits / test.length;
      q.agreement[e] = agree / test.length;
      q.maxProbDiff[e] = maxDiff;
    }
    quality.set(v.name, q);
  }
  const rows = test.slice(0, 32);
  const timings = await measure(variants, (engine, batch) => toFeeds(TENSOR[engine], rows.slice(0, batch)) as Feeds);
  const ops = new Map<string, string>();
  for (const v of variants) ops.set(v.name, opsSummary(await optimisedOps(v.bytes)));
  return { variants, quality, timings, ops, source, testRows: test.length };
}

// ---------------------------------------------------------------- movielens

interface MovielensCase { name: string; rated_ids: number[]; ratings: number[]; rejected_ids: number[]; excluded_ids: number[]; k: number; item_ids: number[] }

async function movielensSection() {
  const fp32 = readFileSync(join(ROOT, 'models/movielens/1/model.onnx'));
  const int8 = quantize(fp32, { mode: 'dynamic' });
  const cases = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/movielens-reference.json'), 'utf8')) as { cases: MovielensCase[] }).cases;
  const feeds = (engine: Engine, c: MovielensCase): Feeds => {
    const T = TENSOR[engine];
    const ids = (a: number[]) => new T('int64', BigInt64Array.from(a, BigInt), [a.length]);
    return { rated_ids: ids(c.rated_ids), ratings: new T('float32', Float32Array.from(c.ratings), [c.ratings.length]), rejected_ids: ids(c.rejected_ids), excluded_ids: ids(c.excluded_ids), k: ids([c.k]) };
  };
  const timed = cases.find((c) => c.rated_ids.length === 20) ?? cases[cases.length - 1]!;
  const result = new Map<string, { createMs: number; runMs: number; spread: number; identical: number; overlap: number }>();
  for (const [name, bytes] of [['fp32', fp32], ['dynamic', int8]] as const) {
    for (const e of ENGINES) {
      const creates: number[] = [];
      let session: Session | undefined;
      for (let i = 0; i < 5; i++) {
        await session?.release();
        const t = performance.now();
        session = await createSession(e, bytes);
        creates.push(performance.now() - t);
      }
      const s = session!;
      let identical = 0, overlap = 0;
      for (const c of cases) {
        const got = Array.from((await s.run(feeds(e, c))).item_ids!.data as BigInt64Array, Number);
        if (got.join() === c.item_ids.join()) identical++;
        overlap += got.filter((id) => c.item_ids.includes(id)).length / Math.max(1, c.item_ids.length);
      }
      const rounds: number[] = [];
      for (let r = 0; r < ROUNDS; r++) rounds.push(await timeRuns(s, feeds(e, timed)));
      await s.release();
      result.set(`${name}/${e}`, { createMs: median(creates), runMs: median(rounds), spread: Math.max(...rounds) / Math.min(...rounds), identical, overlap: overlap / cases.length });
    }
  }
  // The float copy ORT makes at load of each Cast(int8 initializer) in the FP32 graph (folded as a constant).
  const graph = onnxProto.onnx.ModelProto.decode(fp32).graph!;
  const int8Inits = new Map((graph.initializer ?? []).filter((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8).map((t) => [t.name!, t]));
  const floatCopyBytes = (graph.node ?? [])
    .filter((n) => n.opType === 'Cast' && int8Inits.has(n.input![0]!))
    .reduce((a, n) => a + 4 * (int8Inits.get(n.input![0]!)!.dims ?? []).reduce((x: number, d) => x * Number(d), 1), 0);
  return { result, cases: cases.length, timed: timed.name, sizes: { fp32: fp32.length, int8: int8.length }, floatCopyBytes, ops: opsSummary(await optimisedOps(int8)) };
}

// ---------------------------------------------------------------- report

const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const started = performance.now();
  const machine = describeMachine();
  console.log('fashion-mnist ...');
  const fashion = await fashionSection();
  console.log(`flights-delay ... (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const flights = await flightsSection();
  console.log(`movielens ... (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const movielens = await movielensSection();
  const seconds = (performance.now() - started) / 1000;

  const date = new Date().toISOString().slice(0, 10);
  const L: string[] = [];
  const speedTable = (s: { variants: Variant[]; timings: Map<string, Timing> }, names: string[]) => {
    L.push('| variant | batch | wasm ms | wasm ÷ FP32 | wasm speed-up | native ms | native ÷ FP32 | native speed-up | noise (max ÷ min of rounds, wasm / native) |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const batch of BATCHES) {
      for (const name of names) {
        const t = (e: Engine) => s.timings.get(`${name}/${e}/${batch}`)!;
        const base = (e: Engine) => s.timings.get(`fp32/${e}/${batch}`)!.median;
        L.push(`| ${name} | ${batch} | ${f3(t('wasm').median)} | ${ratio(t('wasm').median, base('wasm'))} | **${ratio(base('wasm'), t('wasm').median)}** | ${f3(t('native').median)} | ${ratio(t('native').median, base('native'))} | ${ratio(base('native'), t('native').median)} | ${t('wasm').spread.toFixed(2)} / ${t('native').spread.toFixed(2)} |`);
      }
    }
  };
  const qualityTable = (s: { variants: Variant[]; quality: Map<string, ClassifierQuality>; ops: Map<string, string> }, metric: string) => {
    L.push(`| variant | file | ${metric} wasm | ${metric} native | top-1 agreement with FP32 (wasm / native) | max abs. probability difference vs FP32 (wasm) | what ORT runs (onnxruntime-node's optimised graph) |`);
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const v of s.variants) {
      const q = s.quality.get(v.name)!;
      L.push(`| ${v.name} | ${kb(v.bytes.length)} | ${q.accuracy.wasm.toFixed(4)} | ${q.accuracy.native.toFixed(4)} | ${pct(q.agreement.wasm)} / ${pct(q.agreement.native)} | ${q.maxProbDiff.wasm.toFixed(4)} | ${s.ops.get(v.name)} |`);
    }
  };
  const fw = (name: string, batch: number) => fashion.timings.get(`${name}/wasm/${batch}`)!.median;
  const fn = (name: string, batch: number) => fashion.timings.get(`${name}/native/${batch}`)!.median;
  const lw = (name: string, batch: number) => flights.timings.get(`${name}/wasm/${batch}`)!.median;
  const ship = fashion.shipped;
  const shipQ = fashion.quality.get(ship)!;
  const fpQ = fashion.quality.get('fp32')!;
  const mr = (k: string) => movielens.result.get(k)!;

  L.push(`# int8 in onnxruntime-web ${date}`);
  L.push('');
  L.push('Does the wasm build of ONNX Runtime that the Worker ships (onnxruntime-web, single thread, SIMD) run quantised models faster than FP32? Plain Node, no HTTP, no workerd: `session.run` alone, the same `.onnx` bytes in both engines, inputs built once.');
  L.push('');
  L.push('## Machine and command');
  L.push('');
  L.push(`- CPUs: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}`);
  L.push(`- node ${machine.node}; onnxruntime-web ${machine.versions['onnxruntime-web']} (wasm, \`numThreads = 1\`, the SIMD build \`ort-wasm-simd-threaded.wasm\`, \`graphOptimizationLevel: 'all'\`, as src/runtime/ort.ts creates sessions); onnxruntime-node ${machine.versions['onnxruntime-node']} (\`intraOpNumThreads = 1\`, level 'all')`);
  L.push(`- Command: \`node bench/int8.ts\` (${seconds.toFixed(0)} s). The quantised variants are made in memory by scripts/quantize.ts, as \`node scripts/quantize.ts\` makes the bundled one.`);
  L.push(`- Timing: after one untimed pass over all sessions, per variant × batch × engine ${WARMUP} warm-up runs, then ~${ROUND_MS} ms of runs (50–3,000) and their median; ${ROUNDS} such rounds interleaved across variants (order rotated each round), the reported figure is the median of the ${ROUNDS} round medians. The last column is the max ÷ min of the round medians: near 1.00 means the figure is steady (another process may share the 2 cores). The slow unfused variants are timed in one round only.`);
  L.push('');
  L.push('## Conclusion');
  L.push('');
  const b32 = fw('fp32', 32) / fw(ship, 32);
  const b1 = fw('fp32', 1) / fw(ship, 1);
  const pays = b1 >= 1.2 || b32 >= 1.2;
  const speedup = (r: (typeof fashion.sweep)[number], e: Engine) => r.ms.fp32![e] / r.ms[ship]![e];
  // The smallest batch from which every larger one is at least `min`× faster.
  const from = (min: number) => fashion.sweep.find((r, i) => fashion.sweep.slice(i).every((q) => speedup(q, 'wasm') >= min))?.batch;
  const even = from(1), fifth = from(1.2);
  const best = fashion.sweep.reduce((a, r) => (speedup(r, 'wasm') > speedup(a, 'wasm') ? r : a));
  L.push(`- **${pays ? 'Yes, for batches' : 'No'}: in wasm int8 ${pays ? 'pays when a run carries several rows, not for one row' : 'is not faster by a meaningful margin'}.** fashion-mnist (784-256-128-10), FP32 against int8 (\`${ship}\`): batch 32 ${f3(fw('fp32', 32))} → ${f3(fw(ship, 32))} ms in wasm, **${b32.toFixed(2)}× faster** (qgemm ${ratio(fw('fp32', 32), fw('qgemm', 32))}, dynamic ${ratio(fw('fp32', 32), fw('dynamic', 32))}; onnxruntime-node ${ratio(fn('fp32', 32), fn(ship, 32))}); batch 1 ${f3(fw('fp32', 1))} → ${f3(fw(ship, 1))} ms, **${b1.toFixed(2)}×**${b1 < 1 ? ', i.e. slower' : ''} (dynamic ${ratio(fw('fp32', 1), fw('dynamic', 1))}, qgemm ${ratio(fw('fp32', 1), fw('qgemm', 1))}; native ${ratio(fn('fp32', 1), fn(ship, 1))}). In wasm int8 is faster than FP32 from batch ${even ?? '–'} on${fifth === even ? ' (already ≥ 1.2× there)' : `, ≥ 1.2× from batch ${fifth ?? '–'}`}, up to ${speedup(best, 'wasm').toFixed(2)}× at batch ${best.batch} (sweep below).`);
  L.push(`- **Why not at batch 1**: a run of this model in wasm takes ${f3(fw('fp32', 1))} ms, ${f3(fashion.floor.wasm)} ms of which is the fixed cost of a run (a graph with one Identity on the same input: feeds in, outputs out, the executor). For one row each layer is a matrix-vector product, and MLAS's wasm int8 kernel (onnxruntime/core/mlas/lib/qgemm_kernel_wasmsimd.cpp) has no pre-packed weights: every run widens the whole int8 weight matrix to 16 bits and interleaves it before the \`i32x4.dot_i16x8\` products, which at one row is as much work as the product itself (K × N elements either way); the float kernel reads its weights as they are. The repacking is paid once per run, so from a few rows up the 8 multiply-adds per instruction (against 4 multiplies and 4 adds for f32x4, wasm SIMD has no FMA) win.`);
  L.push(`- **Accuracy is unchanged**: fashion-mnist int8 (\`${ship}\`) ${shipQ.accuracy.wasm.toFixed(4)} on the 10,000 test images against FP32 ${fpQ.accuracy.wasm.toFixed(4)} (config.json: 0.8834), top-1 identical to FP32 on ${pct(shipQ.agreement.wasm)} of them (wasm and native alike); the file is ${kb(fashion.variants.find((v) => v.name === ship)!.bytes.length)} instead of ${kb(fashion.variants[0]!.bytes.length)}.`);
  if (pays) {
    L.push(`- **So it is offered** as models/fashion-mnist-int8 (the \`${ship}\` variant, made by \`node scripts/quantize.ts\`), next to models/fashion-mnist with the same input, labels and max_batch_size and its accuracy beside the FP32 one in its config.json${fashion.bundled ? (fashion.bundledMatches ? '; the bundled file is byte-identical to the one measured here' : '; **the bundled file differs from the one measured here: rerun `node scripts/quantize.ts`**') : '; **models/fashion-mnist-int8 is missing: run `node scripts/quantize.ts`**'}. It is the one to use for batched requests and batch jobs; for one image per request the FP32 model stays the faster one.`);
  } else {
    L.push('- **So no quantised model is offered.**');
  }
  L.push(`- **Only when ORT fuses the pattern into an integer kernel.** QDQ around a MatMul becomes MatMulIntegerToFloat (uint8 × int8 → float); the dynamic form becomes DynamicQuantizeMatMul; com.microsoft QGemm runs as written. QDQ around a **Gemm** (the textbook form, int32 bias) is left unfused by onnxruntime 1.30 (seen in its optimised graph, with or without a bias or an output Q), and so is a weight-only DequantizeLinear (one of its three layers becomes MatMulNBits): the weights are dequantised on every run, ${ratio(fw('qdq-gemm', 32), fw('fp32', 32))} and ${ratio(fw('weight-only', 32), fw('fp32', 32))} the FP32 time at batch 32 (qdq-gemm, weight-only). A MatMul followed by an Add is turned into a float Gemm (MatMulAddFusion, level 1) before the QDQ fusion (level 2) sees it, so the quantiser adds the bias with Sum. MatMulNBits (4-bit) takes ${ratio(fw('nbits4', 32), fw('fp32', 32))} the FP32 time in wasm at batch 32 and ${ratio(fw('nbits4', 1), fw('fp32', 1))} at batch 1 (native: ${ratio(fn('nbits4', 1), fn('fp32', 1))}): no fast 4-bit kernel in the wasm build.`);
  L.push(`- **flights-delay** (434-128-1 after a string-matching encoder that int8 does not touch): \`qdq\` ${ratio(lw('fp32', 32), lw('qdq', 32))} faster at batch 32 in wasm, ${ratio(lw('fp32', 1), lw('qdq', 1))} at batch 1; decisions agree with FP32 on ${pct(flights.quality.get('qdq')!.agreement.wasm)} of ${flights.testRows.toLocaleString('en-US')} held-out rows, accuracy ${flights.quality.get('qdq')!.accuracy.wasm.toFixed(4)} vs ${flights.quality.get('fp32')!.accuracy.wasm.toFixed(4)}. A candidate for batch jobs; not bundled here.`);
  const mlSame = mr('dynamic/wasm').overlap === 1;
  L.push(`- **movielens** (one 1×256 · 256×9,067 product per recommendation; its factors are already int8 in the file, made float once at load): the int8 product (dynamic) is **${mr('dynamic/wasm').runMs > mr('fp32/wasm').runMs ? 'slower' : 'faster'}** in wasm, ${f3(mr('dynamic/wasm').runMs)} ms against ${f3(mr('fp32/wasm').runMs)} ms (the matrix-vector case of batch 1 above; natively, where MLAS's x86 int8 kernels can pre-pack the weights, it is faster: ${f3(mr('dynamic/native').runMs)} vs ${f3(mr('fp32/native').runMs)} ms), ${mlSame ? 'with the same movies in every reference top k' : `top-k overlap ${pct(mr('dynamic/wasm').overlap)}`}${mr('dynamic/wasm').identical === movielens.cases ? ' in the same order' : `, in a different order in ${movielens.cases - mr('dynamic/wasm').identical} of ${movielens.cases} cases`}. Not worth it for speed. What it does save is memory: the FP32 graph makes a float copy of the int8 factors at load (${(movielens.floatCopyBytes / 2 ** 20).toFixed(1)} MiB of wasm heap), the int8 one keeps them int8 (session creation in wasm: ${mr('fp32/wasm').createMs.toFixed(0)} vs ${mr('dynamic/wasm').createMs.toFixed(0)} ms, median of 5, too noisy here to call).`);
  L.push('');
  L.push('## fashion-mnist: latency');
  L.push('');
  L.push('Input: the first 1 or 32 images of the test set, FP32 [batch, 784] raw pixels. Speed-up = FP32 time ÷ variant time (above 1 = int8 faster).');
  L.push('');
  speedTable(fashion, ['fp32', 'qdq', 'qgemm', 'dynamic']);
  L.push('');
  L.push('Forms ORT does not fuse into integer kernels (one round each):');
  L.push('');
  speedTable(fashion, ['qdq-gemm', 'weight-only', 'nbits4']);
  L.push('');
  L.push(`Batch-size sweep, FP32 against \`${ship}\` (one ~${ROUND_MS / 2} ms round each, so noisier than the table above):`);
  L.push('');
  L.push('| batch | wasm FP32 ms | wasm int8 ms | wasm speed-up | native FP32 ms | native int8 ms | native speed-up |');
  L.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of fashion.sweep) {
    L.push(`| ${r.batch} | ${f3(r.ms.fp32!.wasm)} | ${f3(r.ms[ship]!.wasm)} | **${speedup(r, 'wasm').toFixed(2)}×** | ${f3(r.ms.fp32!.native)} | ${f3(r.ms[ship]!.native)} | ${speedup(r, 'native').toFixed(2)}× |`);
  }
  L.push('');
  L.push('## fashion-mnist: accuracy');
  L.push('');
  L.push(`All 10,000 test images (Debian's dataset-fashion-mnist), in batches of 250; agreement and probability differences are against the FP32 model in the same engine. Activation ranges (min/max over ${2000} training images, seeded shuffle): ${[...fashion.ranges].map(([k, [lo, hi]]) => `${k} [${lo.toFixed(2)}, ${hi.toFixed(2)}]`).join(', ')}; weights int8 symmetric per output channel.`);
  L.push('');
  qualityTable(fashion, 'accuracy');
  L.push('');
  for (const v of fashion.variants) L.push(`- ${v.name}: ${v.what}`);
  L.push('');
  L.push('## flights-delay');
  L.push('');
  L.push(`Inputs: held-out rows (strings and numbers, the model's own encoder runs in the graph). Accuracy = \`delayed\` equals (arrival delay > 15 min). Data: ${flights.source}.`);
  L.push('');
  speedTable(flights, ['fp32', 'qdq', 'qgemm', 'dynamic']);
  L.push('');
  qualityTable(flights, 'accuracy');
  L.push('');
  L.push('## movielens');
  L.push('');
  L.push(`No batch dimension: one recommendation per run ("${movielens.timed}"). int8 = the EASE product as DynamicQuantizeLinear(user vector) + MatMulInteger over the int8 factors already in the file (rows gathered from the int8 table, so no float copy of it is made). Top-k checked on the ${movielens.cases} cases of test/fixtures/movielens-reference.json. File ${kb(movielens.sizes.fp32)} → ${kb(movielens.sizes.int8)}. ORT runs: ${movielens.ops}.`);
  L.push('');
  L.push('| variant | engine | run ms | noise | session creation ms (median of 5) | cases with identical top k | mean top-k overlap |');
  L.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const name of ['fp32', 'dynamic']) for (const e of ENGINES) {
    const r = mr(`${name}/${e}`);
    L.push(`| ${name} | ${e} | ${f3(r.runMs)} | ${r.spread.toFixed(2)} | ${r.createMs.toFixed(0)} | ${r.identical} / ${movielens.cases} | ${pct(r.overlap)} |`);
  }
  L.push('');

  const text = L.join('\n');
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'int8-latest.md'), text);
  writeFileSync(join(dir, `int8-${date}.md`), text);
  console.log(text);
  console.log(`\nwrote bench/results/int8-latest.md and int8-${date}.md (${seconds.toFixed(0)} s)`);
}

await main();
