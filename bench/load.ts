// Drives one server with autocannon from a separate process and returns latency percentiles and throughput.
// Imported, it forks itself; run as a child, it generates the load and reports back over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { percentile } from './stats.ts';

export interface LoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  connections: number;
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Server CPU per request and cores kept busy, over warm-up and measurement together. */
  serverCpuMsPerRequest: number;
  serverCores: number;
  /** Cores the load generator itself kept busy: near 1 means it was the limit. */
  clientCores: number;
  /** Cores busy machine-wide minus server and load generator: other work on the machine that skews the cell. */
  otherCores: number;
}

type ChildResult = Omit<LoadResult, 'serverCpuMsPerRequest' | 'serverCores' | 'otherCores'> & { allRequests: number };

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const QUIET_CORES = 0.25;
const QUIET_WAIT_MS = 10_000;
/** Above this much foreign CPU a cell is flagged as disturbed in the report. */
export const DISTURBED_CORES = 0.3;

/**
 * The machine is shared with whatever else runs on it; start a cell only once it is quiet (or after a bounded wait),
 * so background work skews as few cells as possible.
 */
async function waitForQuiet(): Promise<void> {
  const deadline = performance.now() + QUIET_WAIT_MS;
  while (performance.now() < deadline) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 500));
    if ((machineBusySeconds() - before) / 0.5 < QUIET_CORES) return;
  }
}

/** `cpuSeconds` reads the server's CPU clock; the load child's own CPU is not in it. */
export async function runLoad(options: LoadOptions, cpuSeconds: () => number): Promise<LoadResult> {
  await waitForQuiet();
  const cpuBefore = cpuSeconds();
  const machineBefore = machineBusySeconds();
  const wallBefore = performance.now();
  const { allRequests, ...result } = await forkGenerator(options);
  const cpu = cpuSeconds() - cpuBefore;
  const machine = machineBusySeconds() - machineBefore;
  const wall = (performance.now() - wallBefore) / 1000;
  const serverCores = cpu / wall;
  return {
    ...result,
    serverCpuMsPerRequest: (cpu * 1000) / allRequests,
    serverCores,
    otherCores: Math.max(0, machine / wall - serverCores - result.clientCores),
  };
}

/** Non-idle CPU seconds of the whole machine so far, from the aggregate line of /proc/stat. */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal; steal counts as busy, since another tenant's use skews a cell too.
  const busy = fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
  return busy / 100;
}

function forkGenerator(options: LoadOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    let result: ChildResult | undefined;
    child.once('message', (message) => {
      result = message as ChildResult;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      if (result) resolve(result);
      else reject(new Error(`load generator exited with code ${code} before reporting`));
    });
    child.send(options);
  });
}

async function generate(options: LoadOptions): Promise<ChildResult> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const { default: autocannon } = await import('autocannon');
  const run = (seconds: number, onResponse?: (status: number, ms: number) => void) =>
    new Promise<any>((resolve, reject) => {
      const instance = autocannon(
        {
          url: options.url,
          method: 'POST',
          headers: options.headers,
          body: options.body,
          connections: options.connections,
          duration: seconds,
          timeout: 10,
        },
        (error: unknown, result: unknown) => (error ? reject(error) : resolve(result)),
      );
      // autocannon's own histogram has 1 ms resolution, too coarse for sub-millisecond models.
      if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
    });

  const warmup = await run(options.warmupSeconds);
  const latencies: number[] = [];
  const result = await run(options.seconds, (status, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const cpu = process.cpuUsage(cpuBefore);
  const clientCores = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
  return {
    clientCores,
    connections: options.connections,
    requests: latencies.length,
    seconds: result.duration,
    rps: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    allRequests: warmup.requests.total + result.requests.total,
  };
}

if (process.argv.includes('--child')) {
  process.once('message', (options) => {
    generate(options as LoadOptions).then(
      (result) => process.send!(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
