// `npm run soak`: a bounded mixed load against `wrangler dev` — two online consumers, sessions, sequences, batch jobs,
// admin churn of the repository and compressed-body abuse — while the worker's memory is sampled from /proc.
// Reports requests, status counts per kind, 5xx (must be 0) and peak memory to bench/results/soak-latest.md.
// SOAK_SECONDS (default 60) bounds the run; every loop stops by itself at the deadline.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH, sampleGroup, startWranglerDev, today } from './dev-server.ts';
import { connectInspector, heapUsedBytes } from './inspector.ts';
import { ROOT, WORK } from './project.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const KEYS = { alice: 'demo-key-alice', bob: 'demo-key-bob' } as const;
const log = (message: string) => console.error(`[soak ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const started = performance.now();

type Kind = 'online' | 'session' | 'sequence' | 'batch' | 'admin' | 'abuse';
const statuses = new Map<Kind, Map<string, number>>();
const failures: string[] = [];
function count(kind: Kind, status: number | string, detail?: string): void {
  const byStatus = statuses.get(kind) ?? new Map<string, number>();
  byStatus.set(String(status), (byStatus.get(String(status)) ?? 0) + 1);
  statuses.set(kind, byStatus);
  if ((typeof status !== 'number' || status >= 500) && failures.length < 20) failures.push(`${kind} ${status}: ${detail ?? ''}`.slice(0, 300));
}

const server = await startWranglerDev(join(WORK, 'soak-state'), 'warn');
log(`wrangler dev ready at ${server.url}`);
const deadline = performance.now() + seconds * 1000;
const running = () => performance.now() < deadline;

async function call(kind: Kind, path: string, init: RequestInit & { as?: keyof typeof KEYS } = {}): Promise<Response | undefined> {
  const headers = new Headers(init.headers);
  if (!headers.has('Authorization')) headers.set('Authorization', `Bearer ${KEYS[init.as ?? 'alice']}`);
  try {
    const response = await fetch(server.url + path, { ...init, headers, signal: AbortSignal.timeout(30_000) });
    const text = response.status >= 500 ? await response.text() : undefined;
    count(kind, response.status, text);
    return response;
  } catch (error) {
    count(kind, 'network error', String(error));
    return undefined;
  }
}
const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const drain = async (response: Response | undefined) => (response && !response.bodyUsed ? response.arrayBuffer() : undefined);

const irisRow = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
async function online(as: keyof typeof KEYS): Promise<void> {
  while (running()) await drain(await call('online', '/v2/models/iris/infer', { ...json(irisRow), as }));
}

async function sessions(): Promise<void> {
  while (running()) {
    const created = await call('session', '/v2/sessions', json({ model: 'movielens', context: { ratings: [{ item_id: 1, rating: 5 }] } }));
    if (!created?.ok) {
      await drain(created);
      continue;
    }
    const { id } = (await created.json()) as { id: string };
    await drain(await call('session', `/v2/sessions/${id}/recommend`, json({ k: 5 })));
    await drain(await call('session', `/v2/sessions/${id}/try-again`, { method: 'POST' }));
    await drain(await call('session', `/v2/sessions/${id}/feedback`, json({ action: 'rate', item_id: 296, rating: 4 })));
    await drain(await call('session', `/v2/sessions/${id}`, { method: 'DELETE' }));
  }
}

async function sequences(): Promise<void> {
  const chunk = Array(512).fill(0);
  for (let n = 0; running(); n++) {
    for (let i = 0; i < 5; i++) {
      const parameters = { sequence_id: `soak-${n}`, sequence_start: i === 0, sequence_end: i === 4 };
      const inputs = [
        { name: 'input', shape: [1, 512], datatype: 'FP32', data: chunk },
        { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
      ];
      await drain(await call('sequence', '/v2/models/silero-vad/infer', { ...json({ parameters, inputs }), as: 'bob' }));
    }
  }
}

async function batches(): Promise<void> {
  const csv = readFileSync(join(ROOT, 'test/fixtures/flights-sample.csv'));
  for (let n = 0; running(); n++) {
    const uploaded = await call('batch', `/v2/batches/inbox/flights-delay/soak-${n}.csv`, { method: 'PUT', body: csv });
    if (!uploaded?.ok) {
      await drain(uploaded);
      continue;
    }
    const { id } = (await uploaded.json()) as { id: string };
    for (let state = ''; running() && !['succeeded', 'failed', 'cancelled'].includes(state); ) {
      await new Promise((r) => setTimeout(r, 500));
      const status = await call('batch', `/v2/batches/${id}`);
      state = status?.ok ? ((await status.json()) as { state: string }).state : (await drain(status), '');
    }
    if (running()) await drain(await call('batch', `/v2/batches/${id}/output`));
  }
}

async function admin(): Promise<void> {
  const model = readFileSync(join(ROOT, 'test/fixtures/models/iris-v2.onnx')).toString('base64');
  for (let n = 0; running(); n++) {
    const name = `churn${n % 8}`;
    await drain(await call('admin', `/v2/repository/models/${name}/load`, json({ parameters: { [`file:${n + 1}/model.onnx`]: model } })));
    await drain(await call('admin', `/v2/models/${name}/infer`, json(irisRow)));
    await drain(await call('admin', `/v2/repository/models/${name}/unload`, json({})));
    await drain(await call('admin', '/v2/repository/index', { method: 'POST' }));
  }
}

/** 256 MiB of zeros as about 256 KiB of gzip, sent chunked (no Content-Length): only the inflated size can refuse it. */
async function abuse(): Promise<void> {
  const zeros = new Uint8Array(1 << 20);
  let made = 0;
  const source = new ReadableStream<Uint8Array>({ pull: (c) => (made++ < 256 ? c.enqueue(zeros) : c.close()) });
  const bomb = new Uint8Array(await new Response(source.pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
  while (running()) {
    let at = 0;
    const body = new ReadableStream<Uint8Array>({ pull: (c) => (at >= bomb.byteLength ? c.close() : c.enqueue(bomb.slice(at, (at += 64 * 1024)))) });
    await drain(await call('abuse', '/v2/models/iris/infer', { method: 'POST', body, headers: { 'Content-Encoding': 'gzip' }, duplex: 'half' } as RequestInit));
    await drain(await call('abuse', '/v2/models/iris/infer', { ...json(irisRow), headers: { Authorization: `Bearer ${'k'.repeat(100_000)}` } }));
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The worker's memory: the resident set of the workerd processes of wrangler dev's group. */
const workerdRss = () => sampleGroup(server.pid).processes.filter((p) => p.command.includes('workerd')).reduce((n, p) => n + p.rssBytes, 0);
const memory: number[] = [];
const baseline = workerdRss();
const sampler = setInterval(() => memory.push(workerdRss()), 250);
// What the isolate itself holds: its JavaScript heap in use (ONNX Runtime's wasm heap is apart), every 2 s.
const inspector = await connectInspector(server.inspectorPort);
const liveHeap: number[] = [await heapUsedBytes(inspector)];
const heapSampler = (async () => {
  while (running()) {
    await new Promise((r) => setTimeout(r, 2000));
    liveHeap.push(await heapUsedBytes(inspector));
  }
})();

log(`mixed load for ${seconds} s`);
const loops: Record<string, () => Promise<void>> = {
  online: () => Promise.all([online('alice'), online('alice'), online('bob'), online('bob')]).then(() => undefined),
  sessions,
  sequences,
  batches,
  admin,
  abuse,
};
// SOAK_LOOPS (comma list) runs some loops alone, to see which one a figure comes from.
const chosen = process.env.SOAK_LOOPS?.split(',') ?? Object.keys(loops);
await Promise.all(chosen.map((name) => loops[name]!()));
clearInterval(sampler);
await heapSampler;
liveHeap.push(await heapUsedBytes(inspector));
inspector.close();
await server.stop();

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const kinds: Kind[] = ['online', 'session', 'sequence', 'batch', 'admin', 'abuse'];
const total = (kind: Kind) => [...(statuses.get(kind)?.values() ?? [])].reduce((a, b) => a + b, 0);
const errors5xx = kinds.reduce((n, kind) => n + [...(statuses.get(kind) ?? [])].filter(([s]) => !/^[1-4]\d\d$/.test(s)).reduce((m, [, c]) => m + c, 0), 0);
const peak = Math.max(baseline, ...memory);
const report = [
  `# Soak ${today()}`,
  '',
  `Generated by \`npm run soak\` (bench/soak.ts): ${seconds} s of mixed load against \`wrangler dev\` on this machine, all on loopback.`,
  'Loops: two consumers × two online iris loops, a session loop (create, recommend, try again, rate, end), a silero-vad sequence loop,',
  'a batch loop (2,000-row CSV upload, poll, read the output), an admin loop (load a new version, infer, unload, index) and an abuse',
  'loop (a 256 MiB gzip bomb sent chunked, and a 100 KB key). Memory is the resident set of the workerd processes, sampled every 250 ms.',
  '',
  '| kind | requests | statuses |',
  '| --- | ---: | --- |',
  ...kinds.map((kind) => `| ${kind} | ${total(kind)} | ${[...(statuses.get(kind) ?? [])].sort().map(([s, c]) => `${s}: ${c}`).join(', ')} |`),
  '',
  `- Requests: ${kinds.reduce((n, k) => n + total(k), 0)}; 5xx and network errors: **${errors5xx}**`,
  `- workerd memory (all of wrangler dev's workerd, resident): ${mib(baseline)} MiB at start, peak ${mib(peak)} MiB (+${mib(peak - baseline)} MiB), ${mib(memory.at(-1) ?? baseline)} MiB at the end`,
  `- the Worker isolate's JavaScript heap in use (sampled every 2 s, uncollected garbage included): ${mib(liveHeap[0]!)} MiB at start, peak ${mib(Math.max(...liveHeap))} MiB, ${mib(liveHeap.at(-1)!)} MiB at the end; samples ${liveHeap.map(mib).join(' ')}`,
  ...(failures.length ? ['', 'First failures:', '', ...failures.map((f) => `- ${f}`)] : []),
  '',
].join('\n');
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results', `soak-${today()}.md`), report);
copyFileSync(join(ROOT, 'bench/results', `soak-${today()}.md`), join(ROOT, 'bench/results/soak-latest.md'));
console.log(report);
process.exit(errors5xx ? 1 : 0);
