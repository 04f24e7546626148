// The recommender graph in onnxruntime-web's wasm (one thread, as in workerd): session creation,
// one session-sized call, and the wasm heap, for the model in the tree and, side by side, the one
// at a git revision (`--baseline REV`). Each model runs in its own Node process so the heaps are
// its own; the pair runs alternately ROUNDS times and medians are reported.
//   node bench/recommender.ts [--baseline REV]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mib, ms, ratio } from './format.ts';
import { ROOT } from './project.ts';
import { median, percentile } from './stats.ts';

const MODEL = 'models/movielens/1/model.onnx';
const ROUNDS = 3;
const WARMUP = 50;
const RUNS = 500;

interface Sample {
  createMs: number;
  heapAfterLoad: number;
  heapAfterRuns: number;
  p50: number;
  p99: number;
}

/** One model in this process: 20 ratings, 30 excluded ids, 3 rejected, k = 10 (inputs the graph lacks are left out). */
async function measure(file: string): Promise<Sample> {
  let memory: WebAssembly.Memory | undefined;
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (...args: unknown[]) => Promise<WebAssembly.WebAssemblyInstantiatedSource>;
  (WebAssembly as { instantiate: unknown }).instantiate = async (...args: unknown[]) => {
    const result = await instantiate(...args);
    const instance = 'instance' in result ? result.instance : (result as unknown as WebAssembly.Instance);
    // The threaded build imports its memory; others export it.
    const imports = Object.values((args[1] ?? {}) as Record<string, Record<string, unknown>>).flatMap((m) => Object.values(m));
    memory ??= [...Object.values(instance.exports), ...imports].find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
    return result;
  };
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const bytes = readFileSync(file);
  const started = performance.now();
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, graphOptimizationLevel: 'all' });
  const createMs = performance.now() - started;
  const heapAfterLoad = memory?.buffer.byteLength ?? 0;
  const ids = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [v.length]);
  const rated = [1, 32, 47, 50, 110, 150, 260, 296, 318, 356, 364, 480, 527, 589, 593, 608, 1196, 1198, 2571, 2959];
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    rated_ids: ids(rated),
    ratings: new ort.Tensor('float32', Float32Array.from(rated, (_, i) => 1 + (i % 9) / 2), [rated.length]),
    rejected_ids: ids([2, 3, 5]),
    excluded_ids: ids(Array.from({ length: 30 }, (_, i) => 2 + i)),
    k: ids([10]),
  };
  const inputs = Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!]));
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t = performance.now();
    await session.run(inputs);
    if (i >= WARMUP) times.push(performance.now() - t);
  }
  return { createMs, heapAfterLoad, heapAfterRuns: memory?.buffer.byteLength ?? 0, p50: median(times), p99: percentile(times, 99) };
}

const { values } = parseArgs({ options: { baseline: { type: 'string' }, child: { type: 'string' } } });
if (values.child) {
  process.stdout.write(JSON.stringify(await measure(values.child)));
} else {
  const models: [string, string][] = [['current', join(ROOT, MODEL)]];
  if (values.baseline) {
    const file = join(mkdtempSync(join(tmpdir(), 'recommender-')), 'baseline.onnx');
    writeFileSync(file, execFileSync('git', ['show', `${values.baseline}:${MODEL}`], { cwd: ROOT, maxBuffer: 1 << 28 }));
    models.push([`baseline (${values.baseline})`, file]);
  }
  const samples = new Map<string, Sample[]>(models.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, file] of models) {
      const out = execFileSync(process.execPath, [import.meta.filename, '--child', file]).toString();
      samples.get(name)!.push(JSON.parse(out) as Sample);
    }
  }
  const mid = (name: string, key: keyof Sample) => median(samples.get(name)!.map((s) => s[key]));
  const [current, baseline] = models.map(([name]) => name);
  const rows = models.map(([name, file]) => {
    const vs = baseline && name === current ? ` (${ratio(mid(current, 'p50'), mid(baseline, 'p50'))} of the baseline)` : '';
    return `| ${name} | ${mib(readFileSync(file).length)} | ${ms(mid(name, 'createMs'))} | ${ms(mid(name, 'p50'))}${vs} | ${ms(mid(name, 'p99'))} | ${mib(mid(name, 'heapAfterLoad'))} | ${mib(mid(name, 'heapAfterRuns'))} |`;
  });
  const report = `# Recommender graph in onnxruntime-web (wasm, 1 thread)

\`node bench/recommender.ts${values.baseline ? ` --baseline ${values.baseline}` : ''}\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}. One call: 20 ratings, 30 excluded ids, 3 rejected
(where the graph takes them), k = 10; ${WARMUP} warm-up then ${RUNS} measured calls per process; each model in its own process, alternately,
${ROUNDS} rounds; medians of the rounds.

| model | file | session creation ms | call p50 ms | call p99 ms | wasm heap after load | wasm heap after calls |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The isolate has 128 MB; the server refuses a model whose load grows the wasm heap past 96 MiB.
`;
  writeFileSync(join(ROOT, 'bench/results/recommender-latest.md'), report);
  console.log(report);
}
