// A wasm kernel dense in memory loads (8 i32 loads per iteration over 64 KiB), timed in workerd and in Node with and
// without V8's bounds-check flags: it shows whether the engine guards wasm memory with the trap handler (guard pages,
// no check per access) or with an explicit compare-and-branch before every load.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCleanup, startServer, stopServer, waitUntilLive } from '../servers.ts';
import { RM_WORK } from './build.ts';
import { percentile } from '../stats.ts';

export interface ProbeResult {
  where: 'workerd' | 'node';
  flags: string[];
  /** Median ms for ITERATIONS passes over the 64 KiB, shared memory (as ORT's threaded build has it). */
  ms: number;
}

const ITERATIONS = 2000;
const SAMPLES = 11;

const uleb = (n: number) => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];

/** (func (param n len) (result i32)): n passes of `for (i = 0; i < len; i += 32) s_j += load(i + 4j)` for j in 0..7; shared memory of 2 pages. */
export function kernelWasm(): Uint8Array {
  const k = 11; // locals: 2 i, 3..10 s0..s7, 11 pass
  const loads = Array.from({ length: 8 }, (_, j) => [0x20, 3 + j, 0x20, 2, 0x28, 2, ...uleb(j * 4), 0x6a, 0x21, 3 + j]).flat();
  const sum = [0x20, 3, ...Array.from({ length: 7 }, (_, j) => [0x20, 4 + j, 0x6a]).flat()];
  const code = [
    ...[0x02, 0x40, 0x03, 0x40, 0x20, k, 0x20, 0, 0x4f, 0x0d, 1], // block; loop; br_if pass >= n
    ...[0x41, 0, 0x21, 2, 0x03, 0x40, ...loads], // i = 0; loop: 8 loads
    ...[0x20, 2, 0x41, 32, 0x6a, 0x21, 2, 0x20, 2, 0x20, 1, 0x49, 0x0d, 0, 0x0b], // i += 32; br_if i < len; end
    ...[0x20, k, 0x41, 1, 0x6a, 0x21, k, 0x0c, 0, 0x0b, 0x0b, ...sum, 0x0b], // pass++; br; end; end; sum; end
  ];
  const body = [1, 10, 0x7f, ...code];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x03, 2, 2]),
    ...section(7, [1, 3, 0x73, 0x75, 0x6d, 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

const WORKER = `import kernel from './kernel.wasm';
const sum = new WebAssembly.Instance(kernel, {}).exports.sum;
export default { fetch(request) { return new Response(String(sum(Number(new URL(request.url).searchParams.get('n')), 65536))); } };
`;

async function inWorkerd(flags: string[]): Promise<number> {
  const dir = join(RM_WORK, 'probe');
  const server = await startServer('workerd', (port) => {
    const file = join(dir, 'probe.capnp');
    writeFileSync(
      file,
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
  v8Flags = [ ${flags.map((f) => JSON.stringify(f)).join(', ')} ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js"), (name = "kernel.wasm", wasm = embed "kernel.wasm") ],
  compatibilityDate = "2026-11-01",
);
`,
    );
    return file;
  });
  try {
    // The probe answers every path, /v2/health/live included.
    await waitUntilLive(server);
    const get = async (n: number) => {
      const started = performance.now();
      await (await fetch(`${server.url}/?n=${n}`)).text();
      return performance.now() - started;
    };
    for (let i = 0; i < 10; i++) await get(200);
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) times.push(await get(ITERATIONS));
    return percentile(times, 50);
  } finally {
    await stopServer(server);
  }
}

/** Runs in this process: the flags must be the process's own (see `probeNode`). */
function inThisProcess(): number {
  const sum = (new WebAssembly.Instance(new WebAssembly.Module(kernelWasm()), {}).exports as { sum: (n: number, len: number) => number }).sum;
  for (let i = 0; i < 10; i++) sum(200, 65536);
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    sum(ITERATIONS, 65536);
    times.push(performance.now() - started);
  }
  return percentile(times, 50);
}

async function probeNode(flags: string[]): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, [...flags, new URL(import.meta.url).pathname, '--probe-child'], { encoding: 'utf8' });
  return Number(out.trim());
}

export const PROBES: { where: 'workerd' | 'node'; flags: string[] }[] = [
  { where: 'node', flags: [] },
  { where: 'node', flags: ['--wasm-enforce-bounds-checks'] },
  { where: 'node', flags: ['--no-wasm-bounds-checks'] },
  { where: 'workerd', flags: [] },
  { where: 'workerd', flags: ['--wasm-enforce-bounds-checks'] },
  { where: 'workerd', flags: ['--no-wasm-bounds-checks'] },
];

export async function runBoundsProbe(): Promise<ProbeResult[]> {
  const { mkdirSync } = await import('node:fs');
  const dir = join(RM_WORK, 'probe');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.wasm'), kernelWasm());
  writeFileSync(join(dir, 'index.js'), WORKER);
  const results: ProbeResult[] = [];
  for (const probe of PROBES) results.push({ ...probe, ms: probe.where === 'workerd' ? await inWorkerd(probe.flags) : await probeNode(probe.flags) });
  return results;
}

if (process.argv.includes('--probe-child')) console.log(inThisProcess());
else if (process.argv[1] === new URL(import.meta.url).pathname) {
  installCleanup();
  runBoundsProbe().then((r) => console.log(r.map((p) => `${p.where} ${p.flags.join(' ') || '(no flags)'}: ${p.ms.toFixed(1)} ms`).join('\n')));
}
