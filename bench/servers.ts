// Starts and stops the three servers under test, each in its own process group, and cleans up on any exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { WRANGLER_ENV } from './build.ts';
import { benchVarsFile, ROOT, SNAPSHOT, WORK, readProjectSettings } from './project.ts';
import { MODELS } from './requests.ts';
import { writeWorkerdConfig } from './workerd-config.ts';

export const TARGETS = ['workerd', 'workerd-unbatched', 'wrangler-dev', 'node'] as const;
export type Target = (typeof TARGETS)[number];

export const TARGET_LABELS: Record<Target, string> = {
  workerd: 'workerd direct',
  'workerd-unbatched': 'workerd direct, unbatched',
  'wrangler-dev': 'wrangler dev',
  node: 'node peer',
};

export interface Server {
  target: Target;
  port: number;
  url: string;
  child: ChildProcess;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  exited: boolean;
  log: string[];
}

const START_TIMEOUT_MS = 60_000;
const UNBATCHED_CONFIG = join(WORK, 'workerd-unbatched.capnp');
const running = new Set<Server>();

export function workerdBinary(): string {
  const local = join(ROOT, 'node_modules', '.bin', 'workerd');
  if (existsSync(local)) return local;
  return join(ROOT, 'node_modules', 'wrangler', 'node_modules', 'workerd', 'bin', 'workerd');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => resolve(port));
    });
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How `startServer` runs workerd; bench/real-models.ts serves its own bundles with its own V8 flags. */
export type WorkerdConfigWriter = (port: number) => string;

async function command(target: Target, port: number, workerdConfig: WorkerdConfigWriter): Promise<{ file: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }> {
  switch (target) {
    case 'workerd':
      return { file: workerdBinary(), args: ['serve', workerdConfig(port), '--experimental'], env: process.env, cwd: ROOT };
    case 'workerd-unbatched':
      // The same bundle with DYNAMIC_BATCHING = "false": every request runs alone, as before dynamic batching.
      return { file: workerdBinary(), args: ['serve', writeWorkerdConfig(port, { file: UNBATCHED_CONFIG, vars: { DYNAMIC_BATCHING: 'false' } }), '--experimental'], env: process.env, cwd: ROOT };
    case 'wrangler-dev':
      return {
        file: 'npx',
        args: [
          'wrangler', 'dev',
          '--ip', '127.0.0.1',
          '--port', String(port),
          '--inspector-port', String(await freePort()),
          '--env-file', benchVarsFile(),
          '--persist-to', join(WORK, 'wrangler-state'),
          '--show-interactive-dev-session=false',
          '--log-level', 'warn',
        ],
        env: WRANGLER_ENV,
        cwd: SNAPSHOT,
      };
    case 'node':
      return {
        file: process.execPath,
        args: [join(ROOT, 'bench', 'node-server.ts')],
        env: { ...process.env, PORT: String(port), CONSUMER_KEYS: readProjectSettings().consumerKeys, MODELS_DIR: join(SNAPSHOT, 'models'), PEER_MODELS: MODELS.join(',') },
        cwd: ROOT,
      };
  }
}

/** Spawns the server; `waitUntilLive` decides when it is up. */
export async function startServer(target: Target, workerdConfig: WorkerdConfigWriter = (port) => writeWorkerdConfig(port)): Promise<Server> {
  const port = await freePort();
  const { file, args, env, cwd } = await command(target, port, workerdConfig);
  const spawnedAt = performance.now();
  // detached puts the server (and whatever it spawns, e.g. wrangler's workerd) in its own process group.
  // Standard output (a Worker's per-request log lines) goes to a file, as a self-hoster's would: read by this
  // process through a pipe, it would cost the machine CPU that the measurement counts against the server.
  mkdirSync(WORK, { recursive: true });
  const stdout = openSync(stdoutFile(target), 'w');
  const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', stdout, 'pipe'] });
  closeSync(stdout);
  const server: Server = { target, port, url: `http://127.0.0.1:${port}`, child, spawnedAt, exited: false, log: [] };
  const keep = (chunk: Buffer) => {
    server.log.push(chunk.toString());
    if (server.log.length > 200) server.log.splice(0, server.log.length - 200);
  };
  child.stderr!.on('data', keep);
  child.once('exit', () => {
    server.exited = true;
  });
  running.add(server);
  return server;
}

/** Polls /v2/health/live; returns performance.now() at the first 200. */
export async function waitUntilLive(server: Server): Promise<number> {
  const deadline = server.spawnedAt + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (server.exited) {
      throw new Error(`${TARGET_LABELS[server.target]} exited before it came up (code ${server.child.exitCode}):\n${tail(server)}`);
    }
    try {
      const response = await fetch(`${server.url}/v2/health/live`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return performance.now();
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(`${TARGET_LABELS[server.target]} did not come up on port ${server.port} within ${START_TIMEOUT_MS / 1000} s:\n${tail(server)}`);
}

const stdoutFile = (target: Target) => join(WORK, `${target}.stdout.log`);

function tail(server: Server): string {
  const stdout = readFileSync(stdoutFile(server.target), 'utf8').split('\n').slice(-15).join('\n');
  return `${stdout}\n${server.log.join('').split('\n').slice(-15).join('\n')}`;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by the server's process group. Reaped children's time is included
 * (cutime/cstime), so a process that exits mid-measurement (wrangler restarting workerd) does not vanish from the sum.
 */
export function serverCpuSeconds(server: Server): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state, ppid, pgrp, ... utime, stime, cutime, cstime (14th-17th overall).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== server.child.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

function killGroup(server: Server, signal: NodeJS.Signals): void {
  try {
    process.kill(-server.child.pid!, signal);
  } catch {
    // Already gone.
  }
}

export async function stopServer(server: Server): Promise<void> {
  killGroup(server, 'SIGTERM');
  const deadline = performance.now() + 5000;
  while (!server.exited && performance.now() < deadline) await sleep(25);
  // The group leader may exit before its children (npx -> wrangler -> workerd), so always sweep the group.
  killGroup(server, 'SIGKILL');
  running.delete(server);
  const portDeadline = performance.now() + 10_000;
  while (await portInUse(server.port)) {
    if (performance.now() > portDeadline) throw new Error(`port ${server.port} still in use after stopping ${TARGET_LABELS[server.target]}`);
    await sleep(50);
  }
}

function killAll(): void {
  for (const server of running) killGroup(server, 'SIGKILL');
  running.clear();
}

/** Whatever ends this process, no server outlives it. */
export function installCleanup(): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping servers`);
      killAll();
      process.exit(130);
    });
  }
}
