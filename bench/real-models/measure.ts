// The measurements of the real-model benchmark: ORT in plain Node (native and wasm, in a child process), the bare
// Worker and the server in workerd (sequential HTTP requests over one keep-alive connection), and a load cell.
// Every phase records how much CPU the rest of the machine used meanwhile ("other cores"), as bench/load.ts does.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_KEY } from '../requests.ts';
import { percentile } from '../stats.ts';
import { serverCpuSeconds, startServer, stopServer, waitUntilLive, type Server } from '../servers.ts';
import { writeWorkerdConfig } from '../workerd-config.ts';
import { RM_SNAPSHOT, RM_WORK } from './build.ts';
import type { RealModel } from './inputs.ts';
import { timingOf, WARMUP_SECONDS, type RunnerModel, type RunnerRequest, type RunnerResult, type Timing } from './node-runner.ts';

export interface ModelCell {
  name: string;
  /** Session creation (bare Worker, Node), or the first request of the model (server: creation + probe + first run). */
  createMs?: number;
  heapBytes?: number;
  /** Wasm heap after the model's timed runs. */
  heapAfterRunsBytes?: number;
  run: Timing;
  output?: Float32Array;
  dims?: number[];
  /** Every run's time (curve phases only). */
  times?: number[];
  batches?: BatchCell[];
}

export interface PhaseResult {
  label: string;
  startMs?: number;
  heapAfterStartBytes?: number;
  /** The HTTP floor (workerd targets): an empty request's round trip. */
  floor?: Timing;
  models: ModelCell[];
  /** Cores other processes kept busy during the phase (machine busy − this process − the measured one). */
  otherCores: number;
  error?: string;
}

// ---- the machine's other load ----

/** Non-idle CPU seconds of the whole machine (steal counts as busy), from /proc/stat. */
function machineBusy(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  return fields.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0) / 100;
}

const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Waits (at most `maxMs`) until the machine is nearly idle, so a phase starts on a quiet machine. */
export async function waitForQuiet(maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const before = machineBusy();
    await new Promise((r) => setTimeout(r, 500));
    if ((machineBusy() - before) / 0.5 < 0.25) return;
  }
}

/** Runs `work` and says how many cores the rest of the machine kept busy meanwhile; `measuredCpu` is the CPU clock of what is measured. */
async function watched<T>(work: () => Promise<T>, measuredCpu: () => number): Promise<{ value: T; otherCores: number }> {
  const [machine, own, measured, wall] = [machineBusy(), ownCpu(), measuredCpu(), performance.now()];
  const value = await work();
  const seconds = (performance.now() - wall) / 1000;
  const other = machineBusy() - machine - (ownCpu() - own) - (measuredCpu() - measured);
  return { value, otherCores: Math.max(0, other / seconds) };
}

// ---- ORT in plain Node ----

export function runnerModels(models: RealModel[]): RunnerModel[] {
  return models.map((m) => ({
    name: m.name,
    file: join(RM_SNAPSHOT, 'models', m.name, '1', 'model.onnx'),
    inputFile: join(RM_SNAPSHOT, 'bare-inputs', `${m.name}.bin`),
    inputName: m.input.name,
    shape: m.input.shape,
    output: m.output,
    runs: m.runs,
    warmup: m.warmup,
  }));
}

/** Forks bench/real-models/node-runner.ts with `execArgv` (V8 flags) and returns what it measured. */
export async function measureNode(label: string, request: RunnerRequest, execArgv: string[] = []): Promise<PhaseResult> {
  await waitForQuiet();
  const [machine, wall] = [machineBusy(), performance.now()];
  const own = ownCpu();
  try {
    const result = await new Promise<RunnerResult>((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./node-runner.ts', import.meta.url)), ['--child'], {
        execArgv: [...process.execArgv, ...execArgv],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      let answer: RunnerResult | undefined;
      child.once('message', (m) => (answer = m as RunnerResult));
      child.once('error', reject);
      child.once('exit', (code) => (answer ? resolve(answer) : reject(new Error(`node runner (${label}) exited with code ${code}`))));
      child.send(request);
    });
    const other = machineBusy() - machine - (ownCpu() - own) - result.cpuSeconds;
    return {
      label,
      startMs: result.startMs,
      heapAfterStartBytes: result.heapAfterStartBytes,
      models: result.models.map((m) => ({ name: m.name, createMs: m.createMs, heapBytes: m.heapBytes, heapAfterRunsBytes: m.heapAfterRunsBytes, run: m.run, output: m.output, dims: m.dims, times: m.times, batches: m.batches })),
      otherCores: Math.max(0, other / ((performance.now() - wall) / 1000)),
    };
  } catch (error) {
    return { label, models: [], otherCores: 0, error: String(error) };
  }
}

// ---- HTTP ----

// One keep-alive connection per workerd phase: a socket kept from an earlier server must never be reused.
let agent = new Agent({ keepAlive: true, maxSockets: 1 });

interface Reply {
  status: number;
  ms: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(url: string, method: 'GET' | 'POST', headers: Record<string, string> = {}, body?: Uint8Array): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(url, { method, agent, headers, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function ok(reply: Promise<Reply>, what: string): Promise<Reply> {
  const r = await reply;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}

async function sample(count: number, once: () => Promise<Reply>, what: string): Promise<Timing> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push((await ok(once(), what)).ms);
  return timingOf(times);
}

/** The same warm-up as bench/real-models/node-runner.ts: at least `warmup` runs and WARMUP_SECONDS. */
async function warmUp(warmup: number, once: () => Promise<Reply>, what: string): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < warmup || performance.now() - started < WARMUP_SECONDS * 1000; i++) await ok(once(), what);
}

const FLOOR_SAMPLES = 200;

// ---- workerd ----

export interface WorkerdRun {
  dist: string;
  /** A name for the config file. */
  tag: string;
  v8Flags?: string[];
}

async function withWorkerd<T>(run: WorkerdRun, body: (server: Server) => Promise<T>): Promise<T> {
  const file = join(RM_WORK, `${run.tag}.capnp`);
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const server = await startServer('workerd', (port) => writeWorkerdConfig(port, { dist: run.dist, file, snapshot: RM_SNAPSHOT, v8Flags: run.v8Flags }));
  try {
    await waitUntilLive(server);
    return await body(server);
  } catch (error) {
    const log = server.log.join('').split('\n').slice(-15).join('\n');
    throw new Error(`${error instanceof Error ? error.message : String(error)}${server.exited ? ` (workerd exited, code ${server.child.exitCode})` : ''}${log ? `\n${log}` : ''}`);
  } finally {
    await stopServer(server);
  }
}

/** The bare Worker: ORT start, then per model: session creation (round trip − floor), heap, and one run per request. */
export async function measureBare(label: string, run: WorkerdRun, models: RealModel[]): Promise<PhaseResult> {
  await waitForQuiet();
  try {
    return await withWorkerd(run, async (server) => {
      const get = (path: string) => call(server.url + path, 'GET');
      const { value, otherCores } = await watched(async () => {
        const floor = await sample(FLOOR_SAMPLES, () => get('/noop'), 'noop');
        const start = await ok(get('/start'), 'start');
        const result: PhaseResult = { label, startMs: start.ms - floor.p50, heapAfterStartBytes: JSON.parse(start.body.toString()).heap, floor, models: [], otherCores: 0 };
        for (const model of models) {
          const load = await ok(get(`/load?model=${model.name}`), `load ${model.name}`);
          const heapBytes = JSON.parse(load.body.toString()).heap as number;
          const first = await ok(get(`/output?model=${model.name}`), `output ${model.name}`);
          const output = new Float32Array(first.body.buffer.slice(first.body.byteOffset, first.body.byteOffset + first.body.byteLength));
          const dims = String(first.headers['output-dims']).split(',').map(Number);
          const once = () => get(`/run?model=${model.name}`);
          await warmUp(model.warmup, once, `run ${model.name}`);
          const timing = await sample(model.runs, once, `run ${model.name}`);
          const heapAfterRunsBytes = JSON.parse((await ok(get('/start'), 'start')).body.toString()).heap as number;
          result.models.push({ name: model.name, createMs: load.ms - floor.p50, heapBytes, heapAfterRunsBytes, run: timing, output, dims });
        }
        return result;
      }, () => serverCpuSeconds(server));
      return { ...value, otherCores };
    });
  } catch (error) {
    return { label, models: [], otherCores: 0, error: String(error) };
  }
}

/** A fresh workerd: the model's first `runs` runs, one per request, each less the empty request's median. */
export async function curveBare(run: WorkerdRun, model: RealModel, runs: number): Promise<number[]> {
  return withWorkerd(run, async (server) => {
    const get = (path: string) => call(server.url + path, 'GET');
    const floor = await sample(FLOOR_SAMPLES, () => get('/noop'), 'noop');
    await ok(get('/start'), 'start');
    await ok(get(`/load?model=${model.name}`), `load ${model.name}`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await ok(get(`/run?model=${model.name}`), `run ${model.name}`)).ms - floor.p50);
    return times;
  });
}

export interface BatchCell {
  batch: number;
  /** Bare Worker run time (round trip less the empty request), p50. */
  ms: number;
  msPerRow: number;
}

/** How ORT's run time grows with the batch dimension in the bare Worker: what dynamic batching can save per row. */
export async function batchScaling(run: WorkerdRun, model: RealModel, sizes: number[], samples: number): Promise<BatchCell[]> {
  return withWorkerd(run, async (server) => {
    const get = (path: string) => call(server.url + path, 'GET');
    const floor = await sample(FLOOR_SAMPLES, () => get('/noop'), 'noop');
    await ok(get('/start'), 'start');
    await ok(get(`/load?model=${model.name}`), `load ${model.name}`);
    const cells: BatchCell[] = [];
    for (const batch of sizes) {
      const once = () => get(`/run?model=${model.name}&batch=${batch}`);
      await warmUp(model.warmup, once, `run ${model.name} batch ${batch}`);
      const ms = (await sample(samples, once, `run ${model.name} batch ${batch}`)).p50 - floor.p50;
      cells.push({ batch, ms, msPerRow: ms / batch });
    }
    return cells;
  });
}

/** The same in Node: onnxruntime-web in a child process. */
export async function batchScalingNode(model: RealModel, sizes: number[], samples: number): Promise<BatchCell[]> {
  const result = await measureNode('batch', { engine: 'wasm', batchSizes: sizes, models: runnerModels([{ ...model, runs: samples }]) });
  if (result.error) throw new Error(result.error);
  return result.models[0]!.batches ?? [];
}

/** A fresh Node process: the model's first `runs` runs with onnxruntime-web. */
export async function curveNode(model: RealModel, runs: number, execArgv: string[] = []): Promise<number[]> {
  const result = await measureNode('curve', { engine: 'wasm', curve: true, models: runnerModels([{ ...model, runs }]) }, execArgv);
  if (result.error) throw new Error(result.error);
  return result.models[0]!.times ?? [];
}

export const AUTH = { authorization: `Bearer ${API_KEY}` };

/** A binary-tensor-extension request: JSON header with `binary_data_size`, then the raw FP32 bytes; binary output asked for. */
export function binaryInfer(model: RealModel): { headers: Record<string, string>; body: Buffer } {
  const data = Buffer.from(model.input.data.buffer, model.input.data.byteOffset, model.input.data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: model.input.name, shape: model.input.shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
      outputs: [{ name: model.output, parameters: { binary_data: true } }],
    }),
  );
  return {
    headers: { ...AUTH, 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) },
    body: Buffer.concat([header, data]),
  };
}

function binaryOutput(reply: Reply, output: string): { data: Float32Array; dims: number[] } {
  const length = Number(reply.headers['inference-header-content-length']);
  if (!Number.isFinite(length)) throw new Error(`the server answered without binary data: ${reply.body.toString('utf8').slice(0, 200)}`);
  const header = JSON.parse(reply.body.subarray(0, length).toString('utf8')) as { outputs: { name: string; shape: number[]; parameters?: { binary_data_size?: number } }[] };
  let offset = length;
  for (const o of header.outputs) {
    const size = o.parameters?.binary_data_size ?? 0;
    if (o.name === output) {
      const bytes = reply.body.subarray(offset, offset + size);
      return { data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), dims: o.shape };
    }
    offset += size;
  }
  throw new Error(`no output '${output}' in the answer`);
}

/** The server: per model, the first request (load), then sequential binary infer requests. */
export async function measureServer(label: string, run: WorkerdRun, models: (RealModel & { as?: string })[]): Promise<PhaseResult> {
  await waitForQuiet();
  try {
    return await withWorkerd(run, async (server) => {
      const { value, otherCores } = await watched(async () => {
        const floor = await sample(FLOOR_SAMPLES, () => call(`${server.url}/v2/health/live`, 'GET'), 'health');
        const result: PhaseResult = { label, floor, models: [], otherCores: 0 };
        for (const model of models) {
          const name = model.as ?? model.name;
          const { headers, body } = binaryInfer(model);
          const infer = () => call(`${server.url}/v2/models/${name}/infer`, 'POST', headers, body);
          const first = await ok(infer(), `infer ${name}`);
          const { data, dims } = binaryOutput(first, model.output);
          await warmUp(model.warmup, infer, `infer ${name}`);
          const timing = await sample(model.runs, infer, `infer ${name}`);
          result.models.push({ name, createMs: first.ms, run: timing, output: data, dims });
        }
        return result;
      }, () => serverCpuSeconds(server));
      return { ...value, otherCores };
    });
  } catch (error) {
    return { label, models: [], otherCores: 0, error: String(error) };
  }
}

// ---- load ----

export interface LoadCell {
  model: string;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  serverCores: number;
  serverCpuMsPerRequest: number;
  clientCores: number;
  otherCores: number;
}

/**
 * autocannon at `connections`, in this process (nothing else runs here meanwhile, so its CPU is the load generator's),
 * with the binary body; latencies from every 2xx response, as bench/load.ts takes them.
 */
export async function measureLoad(server: Server, model: RealModel, as: string, connections: number, warmupSeconds: number, seconds: number): Promise<LoadCell> {
  const { default: autocannon } = await import('autocannon');
  const { headers, body } = binaryInfer(model);
  const drive = (duration: number, onResponse?: (status: number, ms: number) => void) =>
    new Promise<{ duration: number; errors: number; timeouts: number; non2xx: number; requests: { total: number } }>((resolve, reject) => {
      const instance = autocannon({ url: `${server.url}/v2/models/${as}/infer`, method: 'POST', headers, body, connections, duration, timeout: 20 }, (error: unknown, result: never) =>
        error ? reject(error) : resolve(result),
      );
      if (onResponse) instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => onResponse(status, ms));
    });
  await waitForQuiet();
  const [machine, own, serverCpu, wall] = [machineBusy(), ownCpu(), serverCpuSeconds(server), performance.now()];
  const warm = await drive(warmupSeconds);
  const latencies: number[] = [];
  const result = await drive(seconds, (status, ms) => status >= 200 && status < 300 && latencies.push(ms));
  const wallSeconds = (performance.now() - wall) / 1000;
  const cpu = serverCpuSeconds(server) - serverCpu;
  const client = ownCpu() - own;
  return {
    model: as,
    connections,
    seconds: result.duration,
    requests: latencies.length,
    rps: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures: result.errors + result.timeouts + result.non2xx,
    serverCores: cpu / wallSeconds,
    serverCpuMsPerRequest: (cpu * 1000) / (warm.requests.total + result.requests.total),
    clientCores: client / wallSeconds,
    otherCores: Math.max(0, (machineBusy() - machine - cpu - client) / wallSeconds),
  };
}

/** Starts the server bundle once and runs the load cells on it. */
export async function measureLoadCells(run: WorkerdRun, cells: { model: RealModel; as: string }[], connections: number, warmupSeconds: number, seconds: number): Promise<LoadCell[]> {
  return withWorkerd(run, async (server) => {
    const results: LoadCell[] = [];
    for (const { model, as } of cells) {
      // The first request loads the model; load cells measure the warm server.
      await ok(call(`${server.url}/v2/models/${as}/infer`, 'POST', binaryInfer(model).headers, binaryInfer(model).body), `infer ${as}`);
      results.push(await measureLoad(server, model, as, connections, warmupSeconds, seconds));
    }
    return results;
  });
}
