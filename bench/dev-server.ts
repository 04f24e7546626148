// One `wrangler dev` for the stateful and batch benchmarks: fresh persisted state, its own process group
// (killed on any exit), readiness within 60 s, and /proc samples of the whole process tree.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { WRANGLER_ENV } from './build.ts';
import { benchVarsFile, ROOT } from './project.ts';
import { freePort } from './servers.ts';

export const API_KEY = 'demo-key-alice';
export const AUTH = { Authorization: `Bearer ${API_KEY}` };

export interface DevServer {
  url: string;
  pid: number;
  /** The V8 inspector of the Worker's isolate. */
  inspectorPort: number;
  /** The last lines of its output, for error messages. */
  tail(): string;
  alive(): boolean;
  /** Called with each output line and performance.now() when it arrived. */
  onLine(listener: (line: string, at: number) => void): void;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const live = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

let cleanupInstalled = false;
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' also runs after an uncaught error, so a failing run leaves no server behind.
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping wrangler dev`);
      process.exit(130);
    });
  }
}

/** Starts wrangler dev on a free port with an empty `persistTo`, and resolves once /v2/health/ready answers. */
export async function startWranglerDev(persistTo: string, logLevel: 'info' | 'warn'): Promise<DevServer> {
  installCleanup();
  rmSync(persistTo, { recursive: true, force: true });
  mkdirSync(persistTo, { recursive: true });
  const port = await freePort();
  // An explicit inspector port, so a second wrangler dev on the machine cannot collide on the default one.
  const inspector = await freePort();
  const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--env-file', benchVarsFile(), '--persist-to', persistTo, '--show-interactive-dev-session=false', '--log-level', logLevel];
  const spawnedAt = performance.now();
  // detached: its own process group, so npx -> wrangler -> workerd all go down together.
  const child = spawn('npx', args, { cwd: ROOT, env: WRANGLER_ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let exited = false;
  child.once('exit', () => (exited = true));

  const lines: string[] = [];
  const listeners: ((line: string, at: number) => void)[] = [];
  const split = () => {
    let pending = '';
    return (chunk: Buffer) => {
      const at = performance.now();
      const parts = (pending + chunk.toString()).split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 300) lines.shift();
        for (const listener of listeners) listener(line, at);
      }
    };
  };
  child.stdout!.on('data', split());
  child.stderr!.on('data', split());

  const server: DevServer = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    inspectorPort: inspector,
    tail: () => lines.slice(-30).join('\n'),
    alive: () => !exited,
    onLine: (listener) => listeners.push(listener),
    async stop() {
      killGroup(child, 'SIGTERM');
      const deadline = performance.now() + 5000;
      while (!exited && performance.now() < deadline) await sleep(25);
      // npx may exit before its children, so always sweep the group.
      killGroup(child, 'SIGKILL');
      live.delete(child);
    },
  };

  while (performance.now() - spawnedAt < READY_TIMEOUT_MS) {
    if (exited) throw new Error(`wrangler dev exited before it was ready (code ${child.exitCode}):\n${server.tail()}`);
    try {
      const response = await fetch(`${server.url}/v2/health/ready`, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.ok) return server;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  await server.stop();
  throw new Error(`wrangler dev was not ready on port ${port} within ${READY_TIMEOUT_MS / 1000} s:\n${server.tail()}`);
}

export interface TreeSample {
  rssBytes: number;
  /** user + system CPU of the group's processes, including reaped children. */
  cpuSeconds: number;
  processes: { pid: number; command: string; rssBytes: number }[];
}

/** Memory and CPU of every process in the group, from /proc. */
export function sampleGroup(pgid: number): TreeSample {
  const sample: TreeSample = { rssBytes: 0, cpuSeconds: 0, processes: [] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "(comm) ": state ppid pgrp ... utime stime cutime cstime.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const rssBytes = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      sample.rssBytes += rssBytes;
      sample.cpuSeconds += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
      sample.processes.push({ pid: Number(entry), command, rssBytes });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return sample;
}

/** Non-idle CPU seconds of the whole machine so far (steal counts as busy). */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!) / 100;
}

/** The machine may be shared: start a measurement once it is quiet, or after a bounded wait. */
export async function waitForQuiet(maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const before = machineBusySeconds();
    await sleep(500);
    if ((machineBusySeconds() - before) / 0.5 < 0.25) return;
  }
}

export const today = () => new Date().toISOString().slice(0, 10);
