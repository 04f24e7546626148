// Online stateful benchmark: a session step and a sequence step (each a hop through a Durable Object) against the
// stateless /infer call doing the same model work, and the same sequence streamed over one WebSocket per client against
// its HTTP steps, at concurrency 1 and 8, on one wrangler dev.
// Writes bench/results/stateful-latest.md and stateful-<date>.md. Run: node bench/stateful.ts
// STATEFUL_N (requests per client-count-1 cell; doubled at concurrency 8) shortens a run while iterating.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH, machineBusySeconds, sampleGroup, startWranglerDev, today, waitForQuiet, type DevServer } from './dev-server.ts';
import { describeMachine } from './machine.ts';
import { ROOT, WORK } from './project.ts';
import { DISTURBED, renderStateful, type Cell, type Checks, type Pipelined } from './stateful-report.ts';
import { percentile } from './stats.ts';

const N1 = Number(process.env.STATEFUL_N ?? 400);
const CELLS = [
  { concurrency: 1, warmup: 50, requests: N1 },
  { concurrency: 8, warmup: 80, requests: 2 * N1 },
];
const RATINGS = [{ item_id: 1, rating: 5 }, { item_id: 2355, rating: 4.5 }, { item_id: 4886, rating: 5 }];
const HEADERS = { ...AUTH, 'Content-Type': 'application/json' };
const vad = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/vad-reference.json'), 'utf8')) as {
  sample_rate: number; chunk: number; context_samples: number; chunks: number[][]; probabilities: number[];
};

const log = (message: string) => console.error(`[stateful ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const t0 = performance.now();

async function post(server: DevServer, path: string, body: string): Promise<any> {
  const response = await fetch(server.url + path, { method: 'POST', headers: HEADERS, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path} → ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** One simulated client: each call sends one request and folds the answer into the client's own state. */
type Step = () => Promise<void>;

const ids = (name: string, data: number[]) => ({ name, datatype: 'INT64', shape: [data.length], data });
const firstItem = (answer: any): number => answer.outputs.find((o: any) => o.name === 'item_ids').data[0];

/**
 * silero-vad's config makes it a sequence model, which /infer serves only with a correlation id: the stateless
 * client calls the same ONNX file uploaded under this name with no config, carrying state and context itself.
 */
const STATELESS_VAD = 'silero-vad-stateless';

// The silero-vad inputs are prebuilt JSON text, so both VAD patterns cost the client the same per request.
const SR = JSON.stringify({ name: 'sr', datatype: 'INT64', shape: [], data: [vad.sample_rate] });
const ZERO_STATE = JSON.stringify({ name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) });
const withContext = vad.chunks.map((chunk, i) => [...(i ? vad.chunks[i - 1]!.slice(-vad.context_samples) : new Array(vad.context_samples).fill(0)), ...chunk]);
const statelessVadBodies = withContext.map((samples) =>
  `{"inputs":[${JSON.stringify({ name: 'input', datatype: 'FP32', shape: [1, samples.length], data: samples })},${ZERO_STATE},${SR}]}`);
const sequenceVadInputs = vad.chunks.map((chunk) => `[${JSON.stringify({ name: 'input', datatype: 'FP32', shape: [1, chunk.length], data: chunk })},${SR}]`);

// A WebSocket chunk is the 512 samples' raw FP32 bytes; the start message gives `sr` once.
const wsChunks = vad.chunks.map((chunk) => Float32Array.from(chunk));
const WS_START = JSON.stringify({ type: 'start', inputs: [{ name: 'sr', datatype: 'INT64', shape: [], data: [vad.sample_rate] }] });
/** Streams still open: closed after their cell, so each cell measures only its own. */
const openSockets: WebSocket[] = [];

/**
 * One stream as a browser would open it: a ticket from the authenticated POST, Node 22's built-in WebSocket on the URL it
 * names, the start message, its answer. Each answer is handed to whoever waits for it, in order.
 */
async function openStream(server: DevServer, sequenceId: string) {
  const { url } = await post(server, `/v2/models/silero-vad/sequences/${sequenceId}/ticket`, '');
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  openSockets.push(ws);
  const waiting: { resolve: (p: number) => void; reject: (e: Error) => void }[] = [];
  let ready: (() => void) | undefined;
  let failed: Error | undefined;
  const fail = (error: Error) => {
    failed = error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  ws.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return waiting.shift()?.resolve(new Float32Array(event.data as ArrayBuffer)[0]!);
    const message = JSON.parse(event.data);
    if (message.type === 'ready') return ready?.();
    if (message.error) waiting.shift()?.reject(new Error(`stream ${sequenceId}: ${message.error}`));
  });
  ws.addEventListener('close', (event) => fail(new Error(`stream ${sequenceId} closed: ${event.code} ${event.reason}`)));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`stream ${sequenceId}: could not connect`)), { once: true });
  });
  await new Promise<void>((resolve) => {
    ready = resolve;
    ws.send(WS_START);
  });
  return {
    /** Sends one chunk; resolves with its probability once its answer has arrived. */
    send(chunk: Float32Array): Promise<number> {
      if (failed) return Promise.reject(failed);
      const answer = new Promise<number>((resolve, reject) => {
        waiting.push({ resolve, reject });
        ws.send(chunk);
      });
      answer.catch(() => undefined); // a closed stream fails the chunks sent ahead: reported where awaited, never unhandled
      return answer;
    },
    close: () => ws.close(1000),
  };
}

/** One stream, chunks sent ahead of their answers (at most `window` unanswered): what one socket can carry. */
let pipelinedRuns = 0;
async function pipelined(server: DevServer, chunks: number, window: number): Promise<Pipelined> {
  const stream = await openStream(server, `bench-ws-pipelined-${window}-${pipelinedRuns++}`);
  for (let i = 0; i < 50; i++) await stream.send(wsChunks[i % wsChunks.length]!);
  await waitForQuiet();
  const server0 = sampleGroup(server.pid).cpuSeconds, machine0 = machineBusySeconds(), self0 = process.cpuUsage();
  const started = performance.now();
  const inFlight: Promise<number>[] = [];
  for (let i = 0; i < chunks; i++) {
    if (i >= window) await inFlight[i - window];
    inFlight.push(stream.send(wsChunks[i % wsChunks.length]!));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  const serverCpu = sampleGroup(server.pid).cpuSeconds - server0;
  const self = process.cpuUsage(self0);
  const otherCores = Math.max(0, (machineBusySeconds() - machine0 - serverCpu - (self.user + self.system) / 1e6) / seconds);
  stream.close();
  return { chunks, window, chunksPerSecond: chunks / seconds, otherCores };
}

/** As a cell: run again (twice at most) when other work on the machine disturbed it, keeping the quietest. */
async function quietPipelined(server: DevServer, chunks: number, window: number): Promise<Pipelined> {
  let result = await pipelined(server, chunks, window);
  for (let attempt = 1; attempt < 3 && result.otherCores > DISTURBED; attempt++) {
    log(`one stream, ${window} unanswered at most: ${result.otherCores.toFixed(2)} other cores busy, running it again`);
    await waitForQuiet(30_000);
    const again = await pipelined(server, chunks, window);
    if (again.otherCores < result.otherCores) result = again;
  }
  return result;
}

interface Pattern {
  name: string;
  /** The stateless pattern its p50 is compared with. */
  baseline: string;
  client(server: DevServer, cell: string, index: number, trace: number[]): Promise<Step>;
}

const PATTERNS: Pattern[] = [
  {
    name: 'movielens stateless /infer',
    baseline: 'movielens stateless /infer',
    // The client carries the session's state itself: its ratings, and every item shown so far as excluded_ids.
    async client(server, _cell, _index, trace) {
      const excluded = RATINGS.map((r) => r.item_id);
      return async () => {
        const answer = await post(server, '/v2/models/movielens/infer', JSON.stringify({ inputs: [
          ids('rated_ids', RATINGS.map((r) => r.item_id)),
          { name: 'ratings', datatype: 'FP32', shape: [RATINGS.length], data: RATINGS.map((r) => r.rating) },
          ids('rejected_ids', []),
          ids('excluded_ids', excluded),
          ids('k', [1]),
        ] }));
        excluded.push(firstItem(answer));
        trace.push(firstItem(answer));
      };
    },
  },
  ...(['recommend', 'try-again'] as const).map((action): Pattern => ({
    name: `session ${action}`,
    baseline: 'movielens stateless /infer',
    async client(server, _cell, _index, trace) {
      const session = await post(server, '/v2/sessions', JSON.stringify({ model: 'movielens', context: { ratings: RATINGS } }));
      // try-again rejects the previous answer, so it needs one first (not measured).
      if (action === 'try-again') await post(server, `/v2/sessions/${session.id}/recommend`, '{"k":1}');
      return async () => {
        const answer = await post(server, `/v2/sessions/${session.id}/${action}`, '{"k":1}');
        trace.push(answer.items[0].item_id);
      };
    },
  })),
  {
    name: 'silero-vad stateless /infer',
    baseline: 'silero-vad stateless /infer',
    async client(server, _cell, index, trace) {
      let i = index * 20;
      return async () => {
        const answer = await post(server, `/v2/models/${STATELESS_VAD}/infer`, statelessVadBodies[i++ % vad.chunks.length]!);
        trace.push(answer.outputs[0].data[0]);
      };
    },
  },
  {
    name: 'silero-vad sequence step',
    baseline: 'silero-vad stateless /infer',
    async client(server, cell, index, trace) {
      let i = 0;
      const id = `bench-${cell}-${index}`;
      return async () => {
        const parameters = i === 0 ? { sequence_id: id, sequence_start: true } : { sequence_id: id };
        const answer = await post(server, '/v2/models/silero-vad/infer', `{"parameters":${JSON.stringify(parameters)},"inputs":${sequenceVadInputs[i++ % vad.chunks.length]}}`);
        trace.push(answer.outputs[0].data[0]);
      };
    },
  },
  {
    name: 'silero-vad WebSocket stream',
    baseline: 'silero-vad sequence step',
    // The same chunks as the sequence step, over one socket per client: each step sends a chunk and waits for its answer.
    async client(server, cell, index, trace) {
      const stream = await openStream(server, `bench-ws-${cell}-${index}`);
      let i = 0;
      return async () => {
        trace.push(await stream.send(wsChunks[i++ % wsChunks.length]!));
      };
    },
  },
];

async function runCell(server: DevServer, pattern: Pattern, spec: (typeof CELLS)[number]): Promise<{ cell: Cell; traces: number[][] }> {
  const tag = `${pattern.name.replace(/\W+/g, '-')}-c${spec.concurrency}`;
  const traces = Array.from({ length: spec.concurrency }, () => [] as number[]);
  const clients = await Promise.all(traces.map((trace, i) => pattern.client(server, tag, i, trace)));
  let warm = spec.warmup;
  await Promise.all(clients.map(async (step) => { while (warm-- > 0) await step(); }));
  await waitForQuiet();

  const latencies: number[] = [];
  let left = spec.requests;
  const server0 = sampleGroup(server.pid).cpuSeconds, machine0 = machineBusySeconds(), self0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(clients.map(async (step) => {
    while (left-- > 0) {
      const t = performance.now();
      await step();
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  for (const ws of openSockets.splice(0)) ws.close(1000);
  const serverCpu = sampleGroup(server.pid).cpuSeconds - server0;
  const self = process.cpuUsage(self0);
  const selfCpu = (self.user + self.system) / 1e6;
  return {
    traces,
    cell: {
      pattern: pattern.name,
      baseline: pattern.baseline,
      concurrency: spec.concurrency,
      requests: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      rps: latencies.length / seconds,
      serverCpuMs: (serverCpu * 1000) / latencies.length,
      clientCores: selfCpu / seconds,
      otherCores: Math.max(0, (machineBusySeconds() - machine0 - serverCpu - selfCpu) / seconds),
    },
  };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  log('starting wrangler dev');
  const spawned = performance.now();
  const server = await startWranglerDev(join(WORK, 'stateful-state'), 'warn');
  const readyMs = performance.now() - spawned;
  log(`ready on ${server.url} after ${(readyMs / 1000).toFixed(1)} s`);
  const upload = await fetch(`${server.url}/v2/repository/models/${STATELESS_VAD}/versions/1/model.onnx`, {
    method: 'PUT',
    headers: AUTH,
    body: readFileSync(join(ROOT, 'models/silero-vad/1/model.onnx')),
  });
  if (!upload.ok) throw new Error(`uploading ${STATELESS_VAD}: ${upload.status} ${await upload.text()}`);
  const cells: Cell[] = [];
  const checks: Checks = { sameItems: true, vadMaxDiff: NaN, wsMaxDiff: NaN, wsCompared: 0 };
  let piped: Pipelined[] = [];
  try {
    for (const spec of CELLS) {
      const traces: Record<string, number[][]> = {};
      for (const pattern of PATTERNS) {
        let result = await runCell(server, pattern, spec);
        // The machine may be shared: a cell that other work disturbed is run again (twice at most), keeping the quietest.
        for (let attempt = 1; attempt < 3 && result.cell.otherCores > DISTURBED; attempt++) {
          log(`c=${spec.concurrency} ${pattern.name}: ${result.cell.otherCores.toFixed(2)} other cores busy, running it again`);
          await waitForQuiet(30_000);
          const again = await runCell(server, pattern, spec);
          if (again.cell.otherCores < result.cell.otherCores) result = again;
        }
        cells.push(result.cell);
        traces[pattern.name] = result.traces;
        log(`c=${spec.concurrency} ${pattern.name}: p50 ${result.cell.p50.toFixed(2)} ms, ${result.cell.rps.toFixed(0)} req/s`);
      }
      // Same model work: a session answers exactly what the stateless client computes from the same state.
      const stateless = traces['movielens stateless /infer']!, session = traces['session recommend']!;
      for (const [i, trace] of stateless.entries()) {
        const n = Math.min(trace.length, session[i]!.length);
        if (trace.slice(0, n).join() !== session[i]!.slice(0, n).join()) checks.sameItems = false;
      }
      if (spec.concurrency === 1) {
        const stepped = traces['silero-vad sequence step']![0]!;
        const streamed = stepped.slice(0, vad.probabilities.length);
        checks.vadMaxDiff = Math.max(...streamed.map((p, i) => Math.abs(p - vad.probabilities[i]!)));
        // The WebSocket client sent the same chunks in the same order as the HTTP one, from the start of its sequence.
        const socket = traces['silero-vad WebSocket stream']![0]!;
        checks.wsCompared = Math.min(socket.length, stepped.length);
        checks.wsMaxDiff = Math.max(...socket.slice(0, checks.wsCompared).map((p, i) => Math.abs(p - stepped[i]!)));
        piped = [await quietPipelined(server, N1 * 2, 4), await quietPipelined(server, N1 * 2, 64)];
        for (const p of piped) log(`one stream, ${p.window} unanswered at most: ${p.chunksPerSecond.toFixed(0)} chunks/s`);
      }
    }
  } finally {
    await server.stop();
  }
  const report = renderStateful({ date: today(), machine, readyMs, cells, checks, warmups: CELLS, pipelined: piped });
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stateful-latest.md'), report);
  copyFileSync(join(dir, 'stateful-latest.md'), join(dir, `stateful-${today()}.md`));
  log(`wrote bench/results/stateful-latest.md and stateful-${today()}.md`);
}

await main();
