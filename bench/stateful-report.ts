// Renders the online stateful benchmark as Markdown: the latency table, the checks, what the Durable Object hop costs,
// and the WebSocket stream against the HTTP sequence step.
import type { Machine } from './machine.ts';

export interface Cell {
  pattern: string;
  baseline: string;
  concurrency: number;
  requests: number;
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  /** CPU of wrangler dev's whole process tree per measured request. */
  serverCpuMs: number;
  clientCores: number;
  otherCores: number;
}

export interface Checks {
  sameItems: boolean;
  vadMaxDiff: number;
  /** WebSocket stream outputs against the HTTP sequence step's, chunk for chunk over the same chunks (concurrency 1). */
  wsMaxDiff: number;
  wsCompared: number;
}

/** One stream sending chunks ahead of their answers, at most `window` unanswered. */
export interface Pipelined {
  chunks: number;
  window: number;
  chunksPerSecond: number;
  otherCores: number;
}

interface Data {
  date: string;
  machine: Machine;
  readyMs: number;
  cells: Cell[];
  checks: Checks;
  warmups: { concurrency: number; warmup: number; requests: number }[];
  pipelined: Pipelined[];
}

const f = (v: number) => (Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));
export const DISTURBED = 0.3;

function find(cells: Cell[], pattern: string, concurrency: number): Cell {
  const cell = cells.find((c) => c.pattern === pattern && c.concurrency === concurrency);
  if (!cell) throw new Error(`no cell for ${pattern} at concurrency ${concurrency}`);
  return cell;
}

function hop(cells: Cell[]): string {
  const parts: string[] = [];
  for (const [stateful, stateless, what] of [
    ['session recommend', 'movielens stateless /infer', 'a recommendation'],
    ['silero-vad sequence step', 'silero-vad stateless /infer', 'a VAD chunk'],
  ] as const) {
    const s1 = find(cells, stateful, 1), b1 = find(cells, stateless, 1);
    const s8 = find(cells, stateful, 8), b8 = find(cells, stateless, 8);
    parts.push(
      `For ${what}, at concurrency 1 the stateful route's p50 is ${f(s1.p50)} ms against ${f(b1.p50)} ms stateless: ` +
        `${s1.p50 >= b1.p50 ? '+' : '−'}${f(Math.abs(s1.p50 - b1.p50))} ms (${(s1.p50 / b1.p50).toFixed(2)}×); the server's CPU per request goes from ` +
        `${f(b1.serverCpuMs)} to ${f(s1.serverCpuMs)} ms (${s1.serverCpuMs >= b1.serverCpuMs ? '+' : '−'}${f(Math.abs(s1.serverCpuMs - b1.serverCpuMs))} ms). ` +
        `At concurrency 8 it serves ${s8.rps.toFixed(0)} req/s against ${b8.rps.toFixed(0)} (${(s8.rps / b8.rps).toFixed(2)}×), p50 ${f(s8.p50)} vs ${f(b8.p50)} ms.`,
    );
  }
  const pairs = [['session recommend', 'movielens stateless /infer'], ['silero-vad sequence step', 'silero-vad stateless /infer']] as const;
  const added = pairs.map(([s, b]) => find(cells, s, 1).p50 - find(cells, b, 1).p50);
  const cpu = pairs.map(([s, b]) => find(cells, s, 1).serverCpuMs - find(cells, b, 1).serverCpuMs);
  const lost = pairs.map(([s, b]) => 1 - find(cells, s, 8).rps / find(cells, b, 8).rps);
  const range = (v: number[], unit: string) => `${f(Math.min(...v))}–${f(Math.max(...v))}${unit}`;
  // Extra CPU close to the extra latency means the hop is work on the server's own cores, not time spent waiting.
  const cpuBound = cpu.every((c, i) => c >= 0.6 * added[i]!);
  parts.push(
    `In short: at concurrency 1 the hop adds ${range(added, ' ms')} to the p50, and the server's extra CPU per request is ${range(cpu, ' ms')}` +
      `${cpuBound ? ': about the same, so the hop costs CPU on the same cores (wrangler dev runs the object in the same workerd) rather than waiting' : ''}. ` +
      `At concurrency 8 it costs ${range(lost.map((l) => l * 100), ' %')} of throughput.`,
  );
  const t1 = find(cells, 'session try-again', 1), r1 = find(cells, 'session recommend', 1);
  parts.push(`A try-again (one more write: the reject) costs ${f(t1.p50)} ms at p50 against ${f(r1.p50)} ms for a recommend.`);
  return parts.join('\n\n');
}

/** Per-chunk latency and throughput of the VAD over a WebSocket against the same chunks as HTTP sequence steps. */
function websocket(cells: Cell[], pipelined: Pipelined[]): string {
  const rows = [1, 8].map((c) => {
    const ws = find(cells, 'silero-vad WebSocket stream', c), http = find(cells, 'silero-vad sequence step', c);
    const ratio = ws.p50 / http.p50;
    return `| ${c} | ${f(http.p50)} | ${f(http.p99)} | ${http.rps.toFixed(0)} | ${f(http.serverCpuMs)} | ${f(ws.p50)} | ${f(ws.p99)} | ${ws.rps.toFixed(0)} | ${f(ws.serverCpuMs)} | **${ratio.toFixed(2)}×** ${ratio <= 0.5 ? '✓' : '✗'} | ${(ws.rps / http.rps).toFixed(2)}× |`;
  });
  const ws1 = find(cells, 'silero-vad WebSocket stream', 1), http1 = find(cells, 'silero-vad sequence step', 1);
  const piped = pipelined
    .map((p) => `${p.chunksPerSecond.toFixed(0)} chunks/s with at most ${p.window} unanswered (${p.otherCores.toFixed(2)} other cores${p.otherCores > DISTURBED ? ' ⚠' : ''})`)
    .join(', ');
  return `| concurrency | HTTP p50 ms | HTTP p99 ms | HTTP chunks/s | HTTP server CPU ms | WS p50 ms | WS p99 ms | WS chunks/s | WS server CPU ms | WS p50 ÷ HTTP p50 (goal ≤ 0.5) | WS ÷ HTTP chunks/s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Both run the same object's step on the same chunks: the stream saves the HTTP request's authentication, routing, JSON
parsing and encoding, and the Worker's hop to the object (once open, no Worker code runs per message: frames go to the object), ${f(http1.p50 - ws1.p50)} ms of the p50 at
concurrency 1 and ${f(http1.serverCpuMs - ws1.serverCpuMs)} ms of server CPU per chunk. Each chunk still runs the model and writes the state to the
object's SQLite, as an HTTP step does, so a stream survives hibernation. Sending ahead of the answers (as a live microphone does),
one stream carries ${piped || '–'}; real time is 31.25 chunks/s.`;
}

export function renderStateful(data: Data): string {
  const { machine: m, cells, checks } = data;
  const rows = cells.map((c) => {
    const base = find(cells, c.baseline, c.concurrency);
    const ratio = c.pattern === c.baseline ? '1.00× (baseline)' : `${(c.p50 / base.p50).toFixed(2)}× ${c.baseline.includes('stateless') ? '' : '(vs HTTP step)'}`.trimEnd();
    const flag = c.otherCores > DISTURBED ? ' ⚠' : '';
    return `| ${c.pattern} | ${c.concurrency} | ${c.requests} | ${f(c.p50)} | ${f(c.p99)} | ${f(c.mean)} | ${c.rps.toFixed(0)} | ${ratio} | ${f(c.serverCpuMs)} | ${c.otherCores.toFixed(2)}${flag} |`;
  });
  const disturbed = cells.filter((c) => c.otherCores > DISTURBED);
  const cellsText = data.warmups.map((w) => `concurrency ${w.concurrency}: ${w.warmup} warm-up then ${w.requests} measured requests`).join('; ');
  return `# Online stateful benchmark — ${data.date}

\`node bench/stateful.ts\`: one \`wrangler dev\` with a fresh \`--persist-to\` state directory (ready ${(data.readyMs / 1000).toFixed(1)} s after
spawn), driven from this script's own Node process by a plain \`fetch\` loop over keep-alive connections (the streams: Node's built-in \`WebSocket\`): concurrency c means c clients,
each sending its next request when its previous answer has arrived. Per cell (${cellsText}), all in one run.

Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}, workerd ${m.workerd.replace(/^workerd\s+/, '')}, wrangler ${m.versions.wrangler},
onnxruntime-web ${m.versions['onnxruntime-web']}. The load generator shares these cores with the server.

| pattern | concurrency | requests | p50 ms | p99 ms | mean ms | req/s | p50 vs baseline | server CPU ms/req | other cores |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Server CPU is the user + system time of wrangler dev's whole process tree (wrangler's Node process and workerd) per measured
request. "Other cores" is the machine's CPU used by neither the server nor the load generator during the cell${disturbed.length ? `; ⚠ marks cells above ${DISTURBED} cores, where other work on the machine may have skewed the numbers` : ` (no cell exceeded ${DISTURBED})`}.

**Checks.** Session recommendations identical, item for item, to what the stateless client computed from the same ratings and
excluded ids: **${checks.sameItems ? 'yes' : 'NO'}**. Sequence step outputs over the first 171 calls (one pass over the fixture chunks) against onnxruntime-node run on the
whole audio (\`test/fixtures/vad-reference.json\`): max abs difference **${checks.vadMaxDiff.toExponential(2)}**. WebSocket stream outputs against the
HTTP sequence step's over the same ${checks.wsCompared} chunks: max abs difference **${checks.wsMaxDiff.toExponential(2)}**.

## WebSocket stream vs the HTTP sequence step

${websocket(cells, data.pipelined)}

## What the Durable Object hop costs

${hop(cells)}

## How each pattern was driven

- **movielens stateless /infer**: \`rated_ids\` INT64 [3], \`ratings\` FP32 [3], \`rejected_ids\` INT64 [0], \`excluded_ids\` INT64 [n], \`k\` = 1. The client keeps the
  state a session would keep: \`excluded_ids\` is the 3 rated ids plus every item it has been shown, so n grows by one per request,
  exactly as in a session.
- **session recommend**: one session per client (8 at concurrency 8, so no two clients queue on the same object), created with the
  same 3 ratings; \`POST /v2/sessions/{id}/recommend\` with k = 1. Every step adds the shown item to the session's excluded set, so by
  the end of a cell the graph masks 3 + (warm-up + measured) / c items and the object's SQLite history holds as many events.
- **session try-again**: fresh sessions, one unmeasured recommend each, then \`try-again\` with k = 1: each call records a reject of
  the previous answer and a new answer (two events per step).
- **silero-vad stateless /infer**: the same ONNX file uploaded as \`silero-vad-stateless\` without a config (\`silero-vad\` itself is a
  sequence model, which /infer serves only with a correlation id); \`input\` FP32 [1, 576] (the previous chunk's last 64 samples, then the 512-sample chunk),
  \`state\` FP32 [2, 1, 128] of zeros, \`sr\` INT64 [] = 16000. A real stateless client would send back the \`stateN\` it received: the
  same model work, but longer JSON numbers than zeros. The stateless answer also carries \`stateN\` (256 floats); a sequence answer
  carries only \`output\`.
- **silero-vad sequence step**: one sequence per client; \`parameters.sequence_id\`, \`sequence_start\` on its first call, \`input\`
  [1, 512] + \`sr\`; the server keeps the state and the 64-sample context. Chunks cycle through the 171 chunks of the fixture.
- **silero-vad WebSocket stream**: one sequence per client, opened as a browser would: \`POST /v2/models/silero-vad/sequences/{id}/ticket\`
  with the key, then Node's built-in \`WebSocket\` on the URL it answers, \`{"type": "start", "inputs": [sr]}\`; each step sends one binary
  message (the chunk's 512 FP32 samples, 2048 bytes) and waits for its answer (4 bytes: the probability). Its baseline is the HTTP
  sequence step: the same chunks in the same order. Opening the streams (ticket, upgrade, start) is not measured.
`;
}
