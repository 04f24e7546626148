// Renders the offline batch benchmark as Markdown: a table per size, per-row cost growth, correctness, queue parallelism, failures.
import type { Machine } from './machine.ts';

export interface NodeRun {
  rows: number;
  seconds: number;
  rowsPerS: number;
  peakRssMb: number;
  errors: number;
}

export interface JobRun {
  size: string;
  bytes: number;
  state: string;
  reason?: string;
  error?: string;
  lastStatus?: unknown;
  uploadS?: number;
  /** From the upload's 202 to the start of the first chunk invocation: queue delivery. */
  firstChunkAfterS?: number;
  /** From the first byte of the upload to the first status poll that answered 200. */
  firstStatusS?: number;
  wallS?: number;
  serverJobS?: number;
  rowsPerS?: number;
  recordsOk?: number;
  recordsFailed?: number;
  chunks?: number;
  chunksDone?: number;
  chunkBytes?: number;
  cpuCores?: number;
  idleRssMb: number;
  peakRssMb: number;
  peakProcesses: { command: string; rssMb: number }[];
  queue: { invocations: number; retried: number; maxOverlap: number; busySum: number; spanS: number };
  check?: { lines: number; outputLines: number; maxDiff: number; delayedMismatches: number; missing: number };
}

export interface BatchData {
  date: string;
  machine: Machine;
  sizes: string[];
  node: Record<string, { oneThread: NodeRun; defaultThreads: NodeRun }>;
  jobs: Record<string, JobRun>;
}

const TOLERANCE = 1e-5;
const n = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const us = (seconds: number | undefined, rows: number | undefined) => (seconds && rows ? n((seconds * 1e6) / rows, 2) : '–');

function sizeSection(data: BatchData, size: string): string {
  const job = data.jobs[size];
  const node = data.node[size];
  const base = node?.oneThread.rowsPerS;
  const rows: string[] = [];
  if (job) {
    const ok = job.state === 'succeeded';
    rows.push(`| wrangler dev: R2 → Queues → R2 | ${ok ? n(job.wallS, 2) : `**${job.state}**`} | ${ok ? n(job.rowsPerS) : '–'} | ${ok && base ? `${(job.rowsPerS! / base).toFixed(2)}×` : '–'} | ${n(job.peakRssMb)} | ${n(job.chunks)} | ${n(job.chunkBytes)} | ${job.queue.maxOverlap} at once (${job.queue.invocations} invocation${job.queue.invocations === 1 ? '' : 's'}) |`);
  }
  if (node) {
    rows.push(`| node, onnxruntime-node, 1 thread | ${n(node.oneThread.seconds, 2)} | ${n(node.oneThread.rowsPerS)} | 1.00× | ${n(node.oneThread.peakRssMb)} | – | – | – |`);
    rows.push(`| node, onnxruntime-node, default threads | ${n(node.defaultThreads.seconds, 2)} | ${n(node.defaultThreads.rowsPerS)} | ${(node.defaultThreads.rowsPerS / base!).toFixed(2)}× | ${n(node.defaultThreads.peakRssMb)} | – | – | – |`);
  }
  const details: string[] = [];
  if (job) {
    if (job.uploadS !== undefined) details.push(`upload ${n(job.uploadS, 2)} s (${n(job.bytes / 2 ** 20, 1)} MiB)`);
    if (job.firstStatusS !== undefined) details.push(`job status visible ${n(job.firstStatusS, 2)} s after the upload began (the 202 carries it)`);
    if (job.firstChunkAfterS !== undefined) details.push(`first chunk invocation began ${n(job.firstChunkAfterS, 2)} s after the 202`);
    if (job.recordsOk !== undefined) details.push(`records ok ${n(job.recordsOk)}, failed ${n(job.recordsFailed)}`);
    if (job.serverJobS !== undefined) details.push(`job time on the server (created → finished) ${n(job.serverJobS, 2)} s`);
    details.push(`queue consumer busy ${n(job.queue.busySum, 1)} s in total over a span of ${n(job.queue.spanS, 1)} s from first to last chunk invocation${job.queue.retried ? `, ${job.queue.retried} invocations retried` : ''}`);
    if (job.cpuCores !== undefined) details.push(`process tree CPU ${n(job.cpuCores, 2)} cores on average`);
    details.push(`RSS idle ${n(job.idleRssMb)} MB → peak ${n(job.peakRssMb)} MB (at the peak: ${job.peakProcesses.slice(0, 3).map((p) => `${p.command} ${n(p.rssMb)} MB`).join(', ')})`);
  }
  const failure = job?.error || (job && job.state !== 'succeeded')
    ? `\n**The job did not succeed.** State: \`${job.state}\`${job.reason ? `, reason: ${job.reason}` : ''}.${job.error ? `\n\n\`\`\`\n${job.error.slice(0, 3000)}\n\`\`\`` : ''}\n`
    : '';
  return `## ${size} rows

| target | wall s | rows/s | vs node 1 thread | peak RSS MB | chunks | chunk bytes | queue concurrency |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

${details.length ? `wrangler dev: ${details.join('; ')}.` : ''}
${failure}`;
}

function growth(data: BatchData): string {
  let previous: JobRun | undefined;
  const rows = data.sizes.map((size) => {
    const job = data.jobs[size], node = data.node[size];
    const ok = job?.state === 'succeeded';
    // The cost of the extra rows over the previous size: what a row costs once the fixed start-up is paid.
    const marginal = ok && previous ? us(job!.wallS! - previous.wallS!, job!.recordsOk! - previous.recordsOk!) : '–';
    if (ok) previous = job;
    return `| ${size} | ${ok ? n(job!.wallS, 2) : job?.state ?? '–'} | ${ok ? us(job!.wallS, job!.recordsOk) : '–'} | ${marginal} | ${us(node?.oneThread.seconds, node?.oneThread.rows)} | ${us(node?.defaultThreads.seconds, node?.defaultThreads.rows)} |`;
  });
  return `| size | wrangler dev wall s | wrangler dev µs/row | wrangler dev µs per extra row vs previous size | node 1 thread µs/row | node default threads µs/row |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Each wrangler dev job also pays a fixed cost that does not grow with the rows: the upload, the queue's delivery of the
notification and of the first chunk (the "first chunk invocation began … after the 202" above), and up to one poll interval.`;
}

function parallelism(data: BatchData): string {
  const jobs = data.sizes.map((s) => data.jobs[s]).filter((j): j is JobRun => !!j && j.queue.invocations > 0);
  if (!jobs.length) return 'No chunk invocations were observed.';
  const max = Math.max(...jobs.map((j) => j.queue.maxOverlap));
  const lines = jobs.map((j) => `${j.size}: ${j.queue.invocations} invocation(s) for ${j.chunks ?? '?'} chunk(s), at most ${j.queue.maxOverlap} at once, consumer busy ${n(j.queue.busySum, 1)} s of a ${n(j.queue.spanS, 1)} s span (${n(j.queue.spanS ? j.queue.busySum / j.queue.spanS : NaN, 2)} on average)`);
  return `Observed from wrangler dev's own log line per queue consumer invocation (\`QUEUE edge-inference-batch-chunks acked/messages (ms)\`,
taking its arrival as the end and subtracting the duration for the start). A multi-chunk job is two passes, so two invocations per
chunk (count, then score); a one-chunk job is one.

${lines.map((l) => `- ${l}`).join('\n')}

${max <= 1 ? 'Chunks ran one at a time: no two chunk invocations overlapped at any size, and the consumer was busy for about the whole span, so under wrangler dev a job does not get faster with more chunks; the fan-out can only pay off where the queue runs several consumers at once (not measured here).' : `Up to ${max} chunk invocations overlapped.`}`;
}

export function renderBatch(data: BatchData): string {
  const m = data.machine;
  const check = data.jobs['30k']?.check;
  const failed = data.sizes.filter((s) => data.jobs[s] && data.jobs[s]!.state !== 'succeeded');
  const worked = data.sizes.filter((s) => data.jobs[s]?.state === 'succeeded');
  return `# Offline batch benchmark — ${data.date}

\`node bench/batch.ts\`: the flights CSVs from \`scripts/flights/prepare.ts\` through the local dev server. For each size a fresh
\`wrangler dev\` (empty \`--persist-to\` directory; the queue consumers run inside it) receives the file streamed to
\`PUT /v2/batches/inbox/flights-delay/<file>\` (Content-Length set), which stores it in local R2 and starts the job; the job is then
polled every 250 ms until it ends. Wall time runs from the first byte of the upload to the poll that saw \`succeeded\` (so it includes
the upload and up to 250 ms of polling); rows/s is records ok / wall time. Peak RSS is the largest sum of VmRSS over the dev server's
process group (npx, wrangler's Node process, workerd), sampled every 250 ms. The baseline is \`scripts/flights/score-node.ts\`
(onnxruntime-node, batches of 4,096, one process, its own wall time and max RSS) on the same file, with \`--threads 1\` (an isolate
is single-threaded) and with onnxruntime's default threads.

Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}, workerd ${m.workerd.replace(/^workerd\s+/, '')}, wrangler ${m.versions.wrangler},
onnxruntime-web ${m.versions['onnxruntime-web']}, onnxruntime-node ${m.versions['onnxruntime-node']}.

${failed.length ? `**Not every size finished: ${failed.join(', ')} did not succeed (details below). Largest size that worked: ${worked.at(-1) ?? 'none'}.**\n\n` : ''}${data.sizes.map((s) => sizeSection(data, s)).join('\n')}
## How time grows

${growth(data)}

## Correctness

${check ? `The 30k job's first ${check.lines} output lines (of ${n(check.outputLines)}) against onnxruntime-node's scores for the same rows, matched by id:
max abs probability difference **${check.maxDiff.toExponential(2)}** (${check.maxDiff <= TOLERANCE ? 'within' : '**outside**'} ${TOLERANCE}), ${check.delayedMismatches} \`delayed\` flags differ, ${check.missing} ids not found.` : 'Not checked: the 30k job did not succeed.'}

## Queue parallelism

${parallelism(data)}
`;
}
