// `npm run bench:online`: builds the Worker, then for each server (workerd direct with and without dynamic batching,
// wrangler dev, node peer) measures cold start, Server-Timing and load, then each runtime's floor, and writes
// bench/results/<date>.md and latest.md.
// BENCH_SECONDS, BENCH_WARMUP, BENCH_SAMPLES and BENCH_TARGETS (comma list) shorten a run while iterating.
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle } from './build.ts';
import { measureCold } from './cold.ts';
import { runLoad } from './load.ts';
import { describeMachine } from './machine.ts';
import { FLOORS, measureFloor } from './floors.ts';
import { measureOrtAlone } from './ort-micro.ts';
import { ROOT, takeSnapshot } from './project.ts';
import { renderReport, renderSummary, type BenchData } from './report.ts';
import { benchRequests, labelOf, MODELS, postInfer, requestHeaders } from './requests.ts';
import { sampleServerTiming } from './server-timing.ts';
import { installCleanup, serverCpuSeconds, startServer, stopServer, TARGET_LABELS, TARGETS, type Target } from './servers.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 2);
const timingSamples = Number(process.env.BENCH_SAMPLES ?? 200);
const concurrencies = [1, 8, 32];
const targets = (process.env.BENCH_TARGETS?.split(',') ?? [...TARGETS]) as Target[];
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target '${t}'; choose from ${TARGETS.join(', ')}`);

const log = (message: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const started = performance.now();

async function benchTarget(target: Target, data: BenchData): Promise<void> {
  const requests = benchRequests();
  log(`starting ${TARGET_LABELS[target]}`);
  const server = await startServer(target);
  try {
    data.cold[target] = await measureCold(server, requests);
    log(`${TARGET_LABELS[target]} live after ${data.cold[target]!.spawnToLiveMs.toFixed(0)} ms on port ${server.port}`);
    for (const request of requests) {
      (data.labels[request.model] ??= {})[target] = labelOf(await postInfer(server.url, request));
    }
    for (const request of requests) {
      (data.timing[target] ??= {})[request.model] = await sampleServerTiming(server.url, request, timingSamples);
    }
    for (const request of requests) {
      for (const connections of concurrencies) {
        log(`${TARGET_LABELS[target]} ${request.model} concurrency ${connections}`);
        const result = await runLoad(
          { url: server.url + request.path, body: request.body, headers: requestHeaders, connections, warmupSeconds, seconds },
          () => serverCpuSeconds(server),
        );
        ((data.load[target] ??= {})[request.model] ??= []).push(result);
        const failures = result.errors + result.non2xx + result.timeouts;
        if (failures) {
          data.problems.push(`${TARGET_LABELS[target]} ${request.model} c=${connections}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`);
        }
      }
    }
  } catch (error) {
    data.problems.push(`${TARGET_LABELS[target]}: ${error instanceof Error ? error.message : String(error)}`);
    log(`${TARGET_LABELS[target]} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<number> {
  installCleanup();
  takeSnapshot();
  log('building with wrangler deploy --dry-run');
  const bundle = buildBundle();
  const data: BenchData = {
    date: new Date().toISOString().slice(0, 10),
    machine: describeMachine(),
    settings: { warmupSeconds, seconds, concurrencies, timingSamples, peerThreads: Number(process.env.PEER_ORT_THREADS ?? 1) },
    models: [...MODELS],
    bundle,
    labels: {},
    cold: {},
    load: {},
    timing: {},
    ortAlone: [],
    floors: {},
    problems: [],
    elapsedSeconds: 0,
  };
  log('timing ONNX Runtime alone (native and wasm)');
  data.ortAlone = await measureOrtAlone();
  for (const target of targets) await benchTarget(target, data);
  const iris = benchRequests().find((r) => r.model === 'iris')!;
  for (const floor of FLOORS) {
    log(`${floor} floor at concurrency ${Math.max(...concurrencies)}`);
    data.floors[floor] = await measureFloor(floor, { body: iris.body, headers: requestHeaders, connections: Math.max(...concurrencies), warmupSeconds, seconds });
  }
  for (const model of data.models) {
    const seen = new Set(Object.values(data.labels[model] ?? {}));
    if (seen.size > 1) data.problems.push(`${model}: servers disagree on the predicted label (${[...seen].join(' / ')})`);
  }
  data.elapsedSeconds = (performance.now() - started) / 1000;

  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${data.date}.md`);
  writeFileSync(file, renderReport(data));
  copyFileSync(file, join(dir, 'latest.md'));
  writeFileSync(join(ROOT, 'bench', '.work', 'last-run.json'), JSON.stringify(data, null, 2));
  console.log(renderSummary(data));
  console.log(`report: ${file} (and bench/results/latest.md)`);
  return data.problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
