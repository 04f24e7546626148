// Turns the measurements into the Markdown report and the compact stdout summary.
import type { BundleFile } from './build.ts';
import type { ColdResult } from './cold.ts';
import { DISTURBED_CORES, type LoadResult } from './load.ts';
import { findings } from './findings.ts';
import { int, kib, loadAt, mib, ms, ratio } from './format.ts';
import type { Machine } from './machine.ts';
import type { ModelName } from './requests.ts';
import type { OrtMicroResult } from './ort-micro.ts';
import type { TimingResult } from './server-timing.ts';
import { TARGET_LABELS, TARGETS, type Target } from './servers.ts';
import type { Floor } from './floors.ts';

export interface BenchData {
  date: string;
  machine: Machine;
  settings: { warmupSeconds: number; seconds: number; concurrencies: number[]; timingSamples: number; peerThreads: number };
  models: ModelName[];
  bundle: BundleFile[];
  /** Which label each target predicted for each model's request: they must agree. */
  labels: Record<string, Partial<Record<Target, string>>>;
  cold: Partial<Record<Target, ColdResult>>;
  load: Partial<Record<Target, Partial<Record<ModelName, LoadResult[]>>>>;
  timing: Partial<Record<Target, Partial<Record<ModelName, TimingResult>>>>;
  ortAlone: OrtMicroResult[];
  /** Each runtime's floor (read the body, answer fixed JSON) under the iris load at the top concurrency. */
  floors: Partial<Record<Floor, LoadResult>>;
  problems: string[];
  elapsedSeconds: number;
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: string[], rows: (string | number)[][], align?: string[]): string {
  return [row(header), row(align ?? header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(row)].join('\n');
}

function loadTable(data: BenchData, model: ModelName): string {
  const rows: (string | number)[][] = [];
  for (const target of TARGETS) {
    for (const connections of data.settings.concurrencies) {
      const r = loadAt(data, target, model, connections);
      const node = loadAt(data, 'node', model, connections);
      const failures = r ? r.errors + r.non2xx + r.timeouts : undefined;
      rows.push([
        TARGET_LABELS[target] + (r && r.otherCores > DISTURBED_CORES ? ' †' : ''), connections, ms(r?.p50), ms(r?.p99), int(r?.rps),
        target === 'node' ? '1.00×' : ratio(r?.rps, node?.rps),
        target === 'node' ? '1.00×' : ratio(r?.p50, node?.p50),
        r ? r.serverCpuMsPerRequest.toFixed(3) : '–',
        r ? r.serverCores.toFixed(2) : '–',
        r ? r.clientCores.toFixed(2) : '–',
        r ? r.otherCores.toFixed(2) : '–',
        failures === undefined ? '–' : failures,
      ]);
    }
  }
  return table(
    ['target', 'concurrency', 'p50 ms', 'p99 ms', 'req/s', 'req/s ÷ node', 'p50 ÷ node', 'server CPU ms/req', 'server cores busy', 'load generator cores busy', 'other cores busy', 'errors + non-2xx'],
    rows,
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
  );
}

function coldTable(data: BenchData): string {
  const rows = TARGETS.filter((t) => data.cold[t]).map((target) => {
    const c = data.cold[target]!;
    return [TARGET_LABELS[target], int(c.spawnToLiveMs), ...data.models.map((m) => ms(c.firstInferMs[m])), int(c.spawnToFirstInferMs)];
  });
  return table(
    ['target', 'spawn → live ms', ...data.models.map((m) => `first ${m} infer ms`), 'spawn → first infer done ms'],
    rows,
  );
}

function bundleTable(data: BenchData): string {
  const total = data.bundle.reduce((n, f) => n + f.bytes, 0);
  const totalGzip = data.bundle.reduce((n, f) => n + f.gzipBytes, 0);
  return table(
    ['file', 'bytes', 'size', 'gzip -9'],
    [
      ...data.bundle.map((f) => [`\`${f.name}\``, int(f.bytes), f.bytes > 2 ** 20 ? mib(f.bytes) : kib(f.bytes), f.gzipBytes > 2 ** 20 ? mib(f.gzipBytes) : kib(f.gzipBytes)]),
      ['**total**', int(total), mib(total), mib(totalGzip)],
    ],
  );
}

/** Dynamic batching against the same server running every request alone, and against the node peer. */
function batchingTable(data: BenchData): string {
  const rows: (string | number)[][] = [];
  for (const model of data.models) {
    for (const connections of data.settings.concurrencies) {
      const b = loadAt(data, 'workerd', model, connections);
      const u = loadAt(data, 'workerd-unbatched', model, connections);
      const n = loadAt(data, 'node', model, connections);
      if (!b || !u) continue;
      rows.push([
        model, connections, int(b.rps), int(u.rps), ratio(b.rps, u.rps), ms(b.p50), ms(u.p50), ms(b.p99), ms(u.p99),
        b.serverCpuMsPerRequest.toFixed(3), u.serverCpuMsPerRequest.toFixed(3), ratio(b.rps, n?.rps),
      ]);
    }
  }
  return table(
    ['model', 'concurrency', 'batched req/s', 'unbatched req/s', 'batched ÷ unbatched', 'p50 batched', 'p50 unbatched', 'p99 batched', 'p99 unbatched', 'CPU ms/req batched', 'CPU ms/req unbatched', 'batched ÷ node'],
    rows,
  );
}

/** What each runtime costs per request before any server code runs. */
function floorTable(data: BenchData): string {
  const top = Math.max(...data.settings.concurrencies);
  const pairs = [
    ['workerd', data.floors.workerd, loadAt(data, 'workerd', 'iris', top)],
    ['node', data.floors.node, loadAt(data, 'node', 'iris', top)],
  ] as const;
  return table(
    ['runtime', 'floor req/s', 'floor CPU ms/req', 'iris server req/s', 'iris server CPU ms/req', 'server CPU above the floor ms/req'],
    pairs.map(([name, floor, server]) => [
      name, int(floor?.rps), floor ? floor.serverCpuMsPerRequest.toFixed(3) : '–', int(server?.rps),
      server ? server.serverCpuMsPerRequest.toFixed(3) : '–',
      floor && server ? (server.serverCpuMsPerRequest - floor.serverCpuMsPerRequest).toFixed(3) : '–',
    ]),
  );
}

function timingTable(data: BenchData): string {
  const rows: (string | number)[][] = [];
  for (const target of TARGETS) {
    for (const model of data.models) {
      const t = data.timing[target]?.[model];
      if (!t) continue;
      rows.push([
        TARGET_LABELS[target], model, ms(t.liveMs), ms(t.clientMs), ms(t.inferMs), ms(t.restMs),
        ms(Math.max(0, t.clientMs - t.inferMs - t.restMs)), `${(t.zeroInferShare * 100).toFixed(0)} %`,
        Number.isFinite(t.resolutionMs) ? t.resolutionMs.toFixed(3) : '–',
      ]);
    }
  }
  return table(
    ['target', 'model', 'GET health/live ms', 'infer round trip ms', 'Server-Timing infer ms', 'Server-Timing rest ms', 'round trip − infer − rest', 'infer reads 0', 'smallest timer step ms'],
    rows,
  );
}

function ortTable(data: BenchData): string {
  return table(
    ['model', 'onnxruntime-node (native) ms', 'onnxruntime-web (wasm) ms', 'wasm ÷ native'],
    data.ortAlone.map((r) => [r.model, (r.nativeMs).toFixed(3), (r.wasmMs).toFixed(3), ratio(r.wasmMs, r.nativeMs)]),
  );
}

export function renderReport(data: BenchData): string {
  const m = data.machine;
  const s = data.settings;
  const sections = [
    `# Benchmark ${data.date}`,
    'Generated by `npm run bench` (bench/run.ts) from a snapshot of the sources taken at its start. All traffic is on loopback; the load generator (autocannon, in its own process) ' +
      'shares the CPUs with the server under test, so absolute numbers are lower than on a dedicated client.',
    '## Machine',
    [
      `- CPUs: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`,
      `- node ${m.node}; ${m.workerd}; ${Object.entries(m.versions).map(([n, v]) => `${n} ${v}`).join(', ')}`,
      `- Load: concurrency ${s.concurrencies.join(', ')}; ${s.warmupSeconds} s warm-up then ${s.seconds} s measured per cell; keep-alive HTTP/1.1, one request per connection at a time`,
      `- Requests: one row per request (iris: 4 features; fashion-mnist: one 784-pixel image), JSON v2 body, \`Authorization: Bearer\` checked by every server`,
      `- Node peer: node:http + onnxruntime-node, one session per benchmarked model created at start-up, intra-op threads ${s.peerThreads} (the Worker's ONNX Runtime wasm is single-threaded)`,
      `- Latency percentiles are computed from every 2xx response time of the measured window (autocannon's own histogram rounds to 1 ms)`,
      `- Server CPU: user + system time of the server's whole process group (for wrangler dev: wrangler and its workerd processes) from /proc, over warm-up and measurement, per request and per wall-clock second ("cores busy"); the load generator's own CPU is shown separately, and "other" is the rest of the machine's busy CPU in the same window (anything else running skews that cell)`,
    ].join('\n'),
    ...data.models.flatMap((model) => [`## Load: ${model}`, loadTable(data, model)]),
    `† marks cells during which other processes on the machine kept more than ${DISTURBED_CORES} of a core busy (each cell waits up to 10 s for a quiet machine before it starts); treat those rows with care.`,
    '## Dynamic batching',
    '"workerd direct" serves the bundled models with their `dynamic_batching` config; "unbatched" is the same bundle with `DYNAMIC_BATCHING = "false"`, every request run alone. Same load, same run.',
    batchingTable(data),
    '## The runtimes\' floor',
    `A handler that reads the request body and answers a fixed JSON document (no routing, auth or model), on each runtime, under the iris load at concurrency ${Math.max(...s.concurrencies)}: what a request costs before any server code runs.`,
    floorTable(data),
    '## Cold start',
    'Time from spawning the server process to `/v2/health/live` answering (polled every 10 ms), then each model\'s first infer request alone, one after the other. ' +
      'The Worker starts ONNX Runtime while its isolate loads (src/index.ts), so workerd is live only once that is done, and a first infer pays for its model\'s session and run.',
    coldTable(data),
    '## Bundle (`wrangler deploy --dry-run`)',
    bundleTable(data),
    '## Where the time goes',
    `${s.timingSamples} sequential infer requests per model on a warm server over one keep-alive connection, each followed by a \`GET /v2/health/live\` ` +
      '(no auth, no model: the floor of HTTP plus runtime). `Server-Timing` `infer` is what the server measured around the ONNX Runtime run, `rest` the remainder of its handler ' +
      '(routing, auth, body parsing, validation, encoding); the round trip is what the benchmark process saw. ' +
      'Inside workerd `performance.now()` only advances across I/O, so an `infer` of 0 or whole-millisecond steps mean the clock did not move during CPU work, not that the work was free.',
    timingTable(data),
    'ONNX Runtime alone (no HTTP, no JSON), median `session.run` over 2000 runs after 200 warm-up runs, single thread, same input, in a separate Node process:',
    ortTable(data),
    '## Predicted labels',
    table(['model', ...TARGETS.map((t) => TARGET_LABELS[t])], data.models.map((model) => [model, ...TARGETS.map((t) => data.labels[model]?.[t] ?? '–')])),
    '## What this shows',
    findings(data).join('\n\n'),
  ];
  if (data.problems.length) sections.push('## Problems', data.problems.map((p) => `- ${p}`).join('\n'));
  sections.push(`_Run took ${Math.round(data.elapsedSeconds)} s._`);
  return sections.join('\n\n') + '\n';
}

export function renderSummary(data: BenchData): string {
  const lines = [`bench ${data.date}: ${data.machine.cpus} × ${data.machine.cpuModel}, node ${data.machine.node}, ${data.machine.workerd}`];
  const pad = (v: string, n: number) => v.padStart(n);
  lines.push(['model'.padEnd(13), 'conc', ...TARGETS.map((t) => pad(TARGET_LABELS[t], 22))].join('  '));
  for (const model of data.models) {
    for (const c of data.settings.concurrencies) {
      const cells = TARGETS.map((t) => {
        const r = loadAt(data, t, model, c);
        return pad(r ? `${r.otherCores > DISTURBED_CORES ? '†' : ''}${int(r.rps)} r/s p50 ${ms(r.p50)}` : '–', 22);
      });
      lines.push([model.padEnd(13).slice(0, 13), pad(String(c), 4), ...cells].join('  '));
    }
  }
  for (const t of TARGETS) {
    const c = data.cold[t];
    if (c) lines.push(`cold ${TARGET_LABELS[t]}: live ${int(c.spawnToLiveMs)} ms, first infer ${data.models.map((m) => `${m} ${ms(c.firstInferMs[m])} ms`).join(', ')}`);
  }
  for (const t of TARGETS) {
    for (const m of data.models) {
      const x = data.timing[t]?.[m];
      if (x) lines.push(`sequential ${TARGET_LABELS[t]} ${m}: round trip ${ms(x.clientMs)} ms (health/live ${ms(x.liveMs)} ms), Server-Timing infer ${ms(x.inferMs)} rest ${ms(x.restMs)} ms`);
    }
  }
  for (const o of data.ortAlone) lines.push(`ORT alone ${o.model}: native ${o.nativeMs.toFixed(3)} ms, wasm ${o.wasmMs.toFixed(3)} ms`);
  const total = data.bundle.reduce((n, f) => n + f.bytes, 0);
  const gz = data.bundle.reduce((n, f) => n + f.gzipBytes, 0);
  lines.push(`bundle: ${mib(total)} (gzip ${mib(gz)})`);
  if (data.problems.length) lines.push(`PROBLEMS:\n  ${data.problems.join('\n  ')}`);
  return lines.join('\n');
}
