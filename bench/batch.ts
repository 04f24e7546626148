// Offline batch benchmark: the flights CSVs (30k, 300k, 3M rows) through wrangler dev (R2 → Queues → R2), each on a
// fresh server, against onnxruntime-node scoring the same files in one process (1 thread and default threads).
// Writes bench/results/batch-latest.md and batch-<date>.md (rewritten after each size, so a failed size keeps the rest).
// Run: node bench/batch.ts   (BATCH_SIZES=30k,300k limits the sizes while iterating)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { renderBatch, type BatchData, type JobRun, type NodeRun } from './batch-report.ts';
import { AUTH, sampleGroup, startWranglerDev, today, waitForQuiet, type DevServer } from './dev-server.ts';
import { describeMachine } from './machine.ts';
import { ROOT, WORK } from './project.ts';

const SIZES = (process.env.BATCH_SIZES ?? '30k,300k,3m').split(',');
const TIMEOUT_S: Record<string, number> = { '30k': 180, '300k': 300, '3m': 900 };
const POLL_MS = 250;
const CHECK_LINES = 1000;
const csvOf = (size: string) => join(ROOT, 'data', 'flights', `flights-${size}.csv`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const log = (message: string) => console.error(`[batch ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`);

function ensureData(): void {
  if (SIZES.every((s) => existsSync(csvOf(s)))) return;
  log('data/flights CSVs missing: running scripts/flights/prepare.ts');
  execFileSync(process.execPath, [join(ROOT, 'scripts/flights/prepare.ts')], { cwd: ROOT, stdio: 'inherit' });
}

/** scripts/flights/score-node.ts in its own process; its last stdout line is a JSON summary. */
function scoreNode(csv: string, extra: string[]): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/flights/score-node.ts'), csv, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`score-node ${extra.join(' ')} exited with ${code}: ${out.slice(-500)}`));
      const s = JSON.parse(line) as { rows: number; seconds: number; rows_per_s: number; peak_rss_mb: number; errors: number };
      resolve({ rows: s.rows, seconds: s.seconds, rowsPerS: s.rows_per_s, peakRssMb: s.peak_rss_mb, errors: s.errors });
    });
  });
}

/** Streams the file into the inbox route with its Content-Length; resolves with the 202 answer. */
function upload(server: DevServer, file: string, name: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/v2/batches/inbox/flights-delay/${name}`, {
      method: 'PUT',
      headers: { ...AUTH, 'Content-Type': 'text/csv', 'Content-Length': statSync(file).size },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
        } catch {
          reject(new Error(`upload answered ${res.statusCode}: ${text.slice(0, 300)}`));
        }
      });
    });
    req.on('error', reject);
    createReadStream(file).on('error', reject).pipe(req);
  });
}

async function getJson(server: DevServer, path: string): Promise<any> {
  const response = await fetch(server.url + path, { headers: AUTH, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path} → ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Queue consumer invocations as wrangler logs them when they end: "QUEUE <queue> <acked>/<messages> (<ms>ms)". */
function watchQueue(server: DevServer, invocations: { start: number; end: number; ok: boolean }[]): void {
  server.onLine((line, at) => {
    const m = line.match(/QUEUE edge-inference-batch-chunks (\d+)\/(\d+) \((\d+)ms\)/);
    if (m) invocations.push({ start: at - Number(m[3]), end: at, ok: m[1] === m[2] });
  });
}

/** Most invocations running at once, from their [start, end] intervals. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [[i.start, 1], [i.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

async function runJob(size: string): Promise<JobRun> {
  const file = csvOf(size);
  const server = await startWranglerDev(join(WORK, `batch-state-${size}`), 'info');
  const run: JobRun = { size, bytes: statSync(file).size, state: 'not started' } as JobRun;
  const invocations: { start: number; end: number; ok: boolean }[] = [];
  watchQueue(server, invocations);
  let peak = sampleGroup(server.pid);
  run.idleRssMb = peak.rssBytes / 2 ** 20;
  const sampler = setInterval(() => {
    const s = sampleGroup(server.pid);
    if (s.rssBytes > peak.rssBytes) peak = s;
  }, POLL_MS);
  let status: any;
  try {
    await waitForQuiet();
    const cpu0 = sampleGroup(server.pid).cpuSeconds;
    const started = performance.now();
    const answer = await upload(server, file, `flights-${size}.csv`);
    const accepted = performance.now();
    run.uploadS = (accepted - started) / 1000;
    if (answer.status !== 202) throw new Error(`upload answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const id = answer.body.id as string;
    // The job exists before the 202: its status answers at once.
    await getJson(server, `/v2/batches/${id}`);
    run.firstStatusS = (performance.now() - started) / 1000;
    log(`${size}: uploaded ${(run.bytes / 2 ** 20).toFixed(1)} MiB in ${run.uploadS.toFixed(2)} s, job ${id}`);
    const deadline = started + TIMEOUT_S[size]! * 1000;
    let failures = 0, lastLog = 0;
    while (true) {
      if (!server.alive()) throw new Error(`wrangler dev exited during the job:\n${server.tail()}`);
      try {
        status = await getJson(server, `/v2/batches/${id}`);
        failures = 0;
      } catch (error) {
        // A busy isolate may answer a status call late; only a server that stays silent ends the run.
        if (++failures * POLL_MS > 30_000) throw new Error(`status polls failed for 30 s: ${String(error)}\n${server.tail()}`);
      }
      if (status && ['succeeded', 'failed', 'cancelled'].includes(status.state)) break;
      if (performance.now() > deadline) throw new Error(`timed out after ${TIMEOUT_S[size]} s at ${JSON.stringify(status)}`);
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        if (status) log(`${size}: ${status.state}, chunks ${status.chunks.done}/${status.chunks.total}, ${status.records.ok} records`);
      }
      await sleep(POLL_MS);
    }
    run.wallS = (performance.now() - started) / 1000;
    run.cpuCores = (sampleGroup(server.pid).cpuSeconds - cpu0) / run.wallS;
    run.state = status.state;
    run.reason = status.reason;
    run.recordsOk = status.records.ok;
    run.recordsFailed = status.records.failed;
    run.chunks = status.chunks.total;
    run.chunksDone = status.chunks.done;
    run.chunkBytes = status.chunks.chunk_bytes;
    run.serverJobS = (Date.parse(status.finished_at) - Date.parse(status.created_at)) / 1000;
    run.rowsPerS = run.recordsOk / run.wallS;
    if (invocations[0]) run.firstChunkAfterS = (invocations[0].start - accepted) / 1000;
    if (size === '30k' && status.state === 'succeeded') run.check = await checkAgainstNode(server, id);
    log(`${size}: ${status.state} in ${run.wallS.toFixed(1)} s, ${Math.round(run.rowsPerS)} rows/s`);
  } catch (error) {
    run.error = String(error instanceof Error ? error.message : error);
    run.lastStatus = status;
    log(`${size}: FAILED: ${run.error.split('\n')[0]}`);
  } finally {
    clearInterval(sampler);
    run.peakRssMb = peak.rssBytes / 2 ** 20;
    run.peakProcesses = peak.processes.map((p) => ({ command: p.command, rssMb: p.rssBytes / 2 ** 20 })).sort((a, b) => b.rssMb - a.rssMb);
    const first = invocations[0]?.start ?? 0, last = invocations.at(-1)?.end ?? 0;
    run.queue = {
      invocations: invocations.length,
      retried: invocations.filter((i) => !i.ok).length,
      maxOverlap: maxOverlap(invocations),
      busySum: invocations.reduce((n, i) => n + i.end - i.start, 0) / 1000,
      spanS: (last - first) / 1000,
    };
    await server.stop();
  }
  return run;
}

/** The first lines of the job's output against onnxruntime-node's scores for the same file. */
async function checkAgainstNode(server: DevServer, id: string): Promise<JobRun['check']> {
  const out = join(WORK, 'flights-30k-node-scores.csv');
  await scoreNode(csvOf('30k'), ['--out', out]);
  const node = new Map<string, { p: number; delayed: boolean }>();
  for (const line of readFileSync(out, 'utf8').trim().split('\n').slice(1)) {
    const [rowId, p, delayed] = line.split(',');
    node.set(rowId!, { p: Number(p), delayed: delayed === '1' });
  }
  const response = await fetch(`${server.url}/v2/batches/${id}/output`, { headers: AUTH });
  if (!response.ok) throw new Error(`output → ${response.status}`);
  const lines = (await response.text()).trim().split('\n');
  let maxDiff = 0, delayedMismatches = 0, missing = 0;
  for (const line of lines.slice(0, CHECK_LINES)) {
    const r = JSON.parse(line) as { id: string; outputs: { probability: number; delayed: boolean } };
    const expected = node.get(r.id);
    if (!expected) {
      missing++;
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(r.outputs.probability - expected.p));
    if (r.outputs.delayed !== expected.delayed) delayedMismatches++;
  }
  return { lines: Math.min(CHECK_LINES, lines.length), outputLines: lines.length, maxDiff, delayedMismatches, missing };
}

async function main(): Promise<void> {
  ensureData();
  const data: BatchData = { date: today(), machine: describeMachine(), sizes: SIZES, node: {}, jobs: {} };
  const write = () => {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'batch-latest.md'), renderBatch(data));
    copyFileSync(join(dir, 'batch-latest.md'), join(dir, `batch-${today()}.md`));
  };
  for (const size of SIZES) {
    await waitForQuiet();
    const one = await scoreNode(csvOf(size), ['--threads', '1']);
    const all = await scoreNode(csvOf(size), []);
    data.node[size] = { oneThread: one, defaultThreads: all };
    log(`node ${size}: ${one.rowsPerS} rows/s on 1 thread, ${all.rowsPerS} rows/s on default threads`);
  }
  for (const size of SIZES) {
    data.jobs[size] = await runJob(size);
    write();
  }
  write();
  log(`wrote bench/results/batch-latest.md and batch-${today()}.md`);
}

await main();
