#!/usr/bin/env node
// edge-inference: a command line for the server, built on client/ alone.
// Exit codes: 0 success, 1 server/API error, 2 usage error, 3 a batch job that ended failed or cancelled.
import { createReadStream, createWriteStream, existsSync, openAsBlob, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { ApiError, createClient, TERMINAL_STATES, type Client, type InferenceRequest, type InferenceResponse, type JobStatus, type ModelMetadata } from '../client/index.ts';
import { uploadRepository } from '../client/repository-upload.ts';
import { optimizeModel } from './optimize.ts';
import { progressLine, type Progress } from './progress.ts';

const EXIT = { ok: 0, api: 1, usage: 2, job: 3 } as const;
const DEFAULT_URL = 'http://localhost:8787';

class UsageError extends Error {}

type Option = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;
interface Context {
  client: Client;
  values: Values;
  args: string[];
  json: boolean;
}
interface Command {
  usage: string;
  summary: string;
  options?: Record<string, Option>;
  run(ctx: Context): Promise<number>;
}

const GLOBAL_OPTIONS: Record<string, Option> = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

// ---------- output ----------

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
function note(text: string): void {
  process.stderr.write(`${text}\n`);
}
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const shapeOf = (shape: readonly number[]) => `[${shape.join(', ')}]`;
function preview(data: unknown, max = 12): string {
  const flat = Array.isArray(data) ? data.flat(Infinity) : [data];
  const shown = flat.slice(0, max).map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return `${shown.join(', ')}${flat.length > max ? `, … (${flat.length} values)` : ''}`;
}

// ---------- argument helpers ----------

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
function positional(args: string[], index: number, what: string): string {
  const value = args[index];
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}
function noMore(args: string[], count: number): void {
  if (args.length > count) throw new UsageError(`unexpected argument '${args[count]}'`);
}
function integer(text: string, what: string, min = 1): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}
function number(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what} must be a number, got '${text}'`);
  return n;
}
function readLocal(path: string): string {
  if (path === '-') return readFileSync(0, 'utf8');
  if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
  return readFileSync(path, 'utf8');
}
function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

// ---------- models ----------

const modelsList: Command = {
  usage: 'models [--json]',
  summary: 'list the repository: every model version with its state',
  async run({ client, args, json }) {
    noMore(args, 0);
    const index = await client.models.list();
    if (json) return printJson(index), EXIT.ok;
    if (!index.length) return print('no models'), EXIT.ok;
    print(table([['MODEL', 'VERSION', 'STATE', 'REASON'], ...index.map((m) => [m.name, m.version, m.state, m.reason])]));
    return EXIT.ok;
  },
};

const modelsShow: Command = {
  usage: 'models show <name> [--version v] [--json]',
  summary: "a model's metadata (inputs, outputs, versions) and configuration",
  options: { version: { type: 'string' } },
  async run({ client, args, values, json }) {
    const name = positional(args, 0, '<name>');
    noMore(args, 1);
    const version = str(values, 'version');
    const [metadata, config] = await Promise.all([client.models.metadata(name, version), client.models.config(name, version)]);
    if (json) return printJson({ metadata, config }), EXIT.ok;
    const extra = config as Record<string, unknown>;
    print(`${metadata.name}  (versions ${metadata.versions.join(', ')}; platform ${metadata.platform}; max_batch_size ${config.max_batch_size})`);
    if (typeof extra.description === 'string') print(extra.description);
    print('inputs:');
    for (const t of metadata.inputs) print(`  ${t.name}  ${t.datatype} ${shapeOf(t.shape)}`);
    print('outputs:');
    for (const t of metadata.outputs) print(`  ${t.name}  ${t.datatype} ${shapeOf(t.shape)}`);
    if (Array.isArray(extra.features)) print(`features: ${extra.features.join(', ')}`);
    if (Array.isArray(extra.labels)) print(`labels: ${extra.labels.join(', ')}`);
    print('config:');
    print(JSON.stringify(config, null, 2).replace(/^/gm, '  '));
    return EXIT.ok;
  },
};

// ---------- infer ----------

/** One CSV row shaped into the model's single input, batch 1. */
export function csvRequest(metadata: ModelMetadata, row: string): InferenceRequest {
  if (metadata.inputs.length !== 1) {
    throw new UsageError(`--csv needs a model with exactly one input; '${metadata.name}' has ${metadata.inputs.length} (${metadata.inputs.map((i) => i.name).join(', ')}): use --json or --file`);
  }
  const input = metadata.inputs[0]!;
  const cells = row.split(',').map((c) => c.trim());
  const data = cells.map((cell, i): unknown => {
    if (input.datatype === 'BYTES') return cell;
    if (input.datatype === 'BOOL') {
      if (/^(true|1)$/i.test(cell)) return true;
      if (/^(false|0)$/i.test(cell)) return false;
      throw new UsageError(`--csv value ${i + 1} '${cell}' is not a boolean`);
    }
    return number(cell, `--csv value ${i + 1}`);
  });
  const shape = [...input.shape];
  if (shape[0] === -1 && shape.length > 1) shape[0] = 1; // batch 1
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) throw new UsageError(`input '${input.name}' has shape ${shapeOf(input.shape)}: more than one free dimension, use --json`);
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  if (free >= 0) {
    if (data.length % known) throw new UsageError(`--csv has ${data.length} values, which do not fill input '${input.name}' of shape ${shapeOf(input.shape)}`);
    shape[free] = data.length / known;
  } else if (data.length !== known) {
    throw new UsageError(`--csv has ${data.length} values; input '${input.name}' of shape ${shapeOf(input.shape)} needs ${known}`);
  }
  return { inputs: [{ name: input.name, datatype: input.datatype, shape, data }] };
}

const infer: Command = {
  usage: "infer <model> (--json '<request>' | --csv '<one row of numbers>' | --file request.json) [--version v] [--json]",
  summary: 'run one inference request; --csv shapes one row into the model\'s single input (batch 1)',
  options: { request: { type: 'string' }, csv: { type: 'string' }, file: { type: 'string' }, version: { type: 'string' } },
  async run({ client, args, values, json }) {
    const model = positional(args, 0, '<model>');
    noMore(args, 1);
    const version = str(values, 'version');
    const sources = (['request', 'csv', 'file'] as const).filter((k) => str(values, k) !== undefined);
    if (sources.length !== 1) throw new UsageError("give exactly one of --json '<request>', --csv '<row>' or --file <request.json>");
    let request: InferenceRequest;
    if (sources[0] === 'csv') request = csvRequest(await client.models.metadata(model, version), str(values, 'csv')!);
    else if (sources[0] === 'file') request = parseJsonArg(readLocal(str(values, 'file')!), `--file ${str(values, 'file')}`) as InferenceRequest;
    else request = parseJsonArg(str(values, 'request')!, '--json request') as InferenceRequest;
    const response: InferenceResponse = await client.infer(model, request, { version });
    if (json) return printJson(response), EXIT.ok;
    print(`${response.model_name} v${response.model_version}${response.id ? `  id ${response.id}` : ''}`);
    for (const o of response.outputs) print(`  ${o.name}  ${o.datatype} ${shapeOf(o.shape)}  ${preview(o.data)}`);
    return EXIT.ok;
  },
};

// ---------- batch ----------

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

/** The inbox file name: the local name made safe, with the extension that tells the server the format. */
function remoteName(file: string, given: string | undefined, format: string | undefined): { name: string; format: 'csv' | 'jsonl' } {
  let name = given ?? basename(file).replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  if (!FILE_NAME.test(name)) throw new UsageError(`cannot make an inbox file name of '${basename(file)}': give --name (letters, digits, '_', '.', '-')`);
  const gzip = name.endsWith('.gz');
  const stem = gzip ? name.slice(0, -3) : name;
  const fromName = stem.endsWith('.csv') ? 'csv' : /\.(jsonl|ndjson)$/.test(stem) ? 'jsonl' : undefined;
  if (format !== undefined && format !== 'csv' && format !== 'jsonl') throw new UsageError(`--format must be csv or jsonl, got '${format}'`);
  const chosen = (format ?? fromName) as 'csv' | 'jsonl' | undefined;
  if (!chosen) throw new UsageError(`cannot tell the format of '${name}': name it .csv or .jsonl, or give --format csv|jsonl`);
  if (chosen !== fromName) name = `${stem}.${chosen}${gzip ? '.gz' : ''}`;
  return { name, format: chosen };
}

/** Records in a local input: non-blank lines, less the CSV header (quoted newlines count twice). */
async function countRecords(file: string, format: 'csv' | 'jsonl'): Promise<number> {
  const source = createReadStream(file);
  const lines = createInterface({ input: file.endsWith('.gz') ? source.pipe(createGunzip()) : source, crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) if (line.trim()) count++;
  return format === 'csv' ? Math.max(0, count - 1) : count;
}

/** Follows a job to its end with a progress bar on stderr: redrawn in place on a TTY, a line per change otherwise. */
async function follow(client: Client, id: string, total: number | undefined, intervalMs: number): Promise<JobStatus> {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let runningSince: number | undefined;
  let current: JobStatus | undefined;
  let last = '';
  const draw = (final = false) => {
    const now = performance.now();
    if (current && current.state !== 'queued' && runningSince === undefined) runningSince = now;
    // Once finished, the server's own times give the rate; until then, time since the job was seen running.
    const { started_at, finished_at } = current ?? {};
    const runningMs = started_at && finished_at ? Math.max(1, Date.parse(finished_at) - Date.parse(started_at)) : runningSince === undefined ? 0 : now - runningSince;
    const progress: Progress = { status: current, total, elapsedMs: now - started, runningMs };
    const line = progressLine(progress, tty ? process.stderr.columns : undefined);
    if (tty) {
      process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    // Without a TTY, a line when something changed (the rate and ETA alone do not count), and the last one.
    const key = current ? `${current.state} ${current.records.ok} ${current.records.failed} ${current.chunks.done}` : '';
    if (key !== last || final) process.stderr.write(`${line}\n`);
    last = key;
  };
  draw();
  const timer = tty ? setInterval(() => draw(), 250) : undefined;
  try {
    current = await client.batches.wait(id, {
      intervalMs,
      onStatus: (status) => {
        current = status;
        if (!TERMINAL_STATES.includes(status.state)) draw();
      },
    });
    draw(true);
    return current;
  } finally {
    clearInterval(timer);
  }
}

function jobEnd(status: JobStatus, json: boolean, printId: boolean): number {
  if (json) printJson(status);
  else if (printId) print(status.id);
  const seconds = status.started_at && status.finished_at ? ` in ${((Date.parse(status.finished_at) - Date.parse(status.started_at)) / 1000).toFixed(1)} s` : '';
  if (status.state === 'succeeded') {
    note(`job ${status.id} succeeded: ${status.records.ok} records scored, ${status.records.failed} failed${seconds}`);
    return EXIT.ok;
  }
  note(`job ${status.id} ${status.state}${status.reason ? `: ${status.reason}` : ''}`);
  return EXIT.job;
}

const batchSubmit: Command = {
  usage: 'batch submit <file> --model <model> [--format csv|jsonl] [--name <inbox file name>] [--detach] [--interval ms] [--json]',
  summary: 'upload a CSV / JSON Lines file (optionally .gz), which starts a job, then follow it to its end',
  options: { model: { type: 'string', short: 'm' }, format: { type: 'string' }, name: { type: 'string' }, detach: { type: 'boolean' }, interval: { type: 'string' } },
  async run({ client, args, values, json }) {
    const file = positional(args, 0, '<file>');
    noMore(args, 1);
    const model = str(values, 'model');
    if (!model) throw new UsageError('--model is required');
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`no such file: ${file}`);
    const interval = integer(str(values, 'interval') ?? '300', '--interval', 50);
    const { name, format } = remoteName(file, str(values, 'name'), str(values, 'format'));
    const [total, blob] = await Promise.all([countRecords(file, format), openAsBlob(file)]);
    const uploaded = await client.batches.upload(model, name, blob);
    note(`uploaded ${file} (${uploaded.size} bytes, ${total} records) to ${uploaded.input}: job ${uploaded.id}`);
    if (values.detach) {
      if (json) printJson(uploaded);
      else print(uploaded.id);
      return EXIT.ok;
    }
    return jobEnd(await follow(client, uploaded.id, total, interval), json, true);
  },
};

const batchWait: Command = {
  usage: 'batch wait <id> [--interval ms] [--json]',
  summary: 'follow a job to its end with a progress bar (exit 3 if it fails or is cancelled)',
  options: { interval: { type: 'string' } },
  async run({ client, args, values, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    return jobEnd(await follow(client, id, undefined, integer(str(values, 'interval') ?? '300', '--interval', 50)), json, false);
  },
};

function describeJob(s: JobStatus): string {
  const lines = [
    `job ${s.id}: ${s.state}${s.reason ? ` (${s.reason})` : ''}`,
    `  model     ${s.model} v${s.model_version}`,
    `  input     ${s.input} (${s.format}${s.gzip ? ', gzip' : ''})`,
    `  records   ${s.records.ok} ok, ${s.records.failed} failed`,
    `  chunks    ${s.chunks.done}/${s.chunks.total} (${s.progress}%)`,
    `  output    ${s.output}`,
    `  created   ${s.created_at}`,
  ];
  if (s.started_at) lines.push(`  started   ${s.started_at}`);
  if (s.finished_at) lines.push(`  finished  ${s.finished_at}`);
  return lines.join('\n');
}

const batchStatus: Command = {
  usage: 'batch status <id> [--json]',
  summary: "a job's state, records and chunks (exit 0 whatever the state; use `batch wait` to block)",
  async run({ client, args, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    const status = await client.batches.get(id);
    if (json) printJson(status);
    else print(describeJob(status));
    return EXIT.ok;
  },
};

const batchList: Command = {
  usage: 'batch list [--json]',
  summary: 'your jobs',
  async run({ client, args, json }) {
    noMore(args, 0);
    const jobs = (await client.batches.list()).sort((a, b) => a.created_at.localeCompare(b.created_at));
    if (json) return printJson(jobs), EXIT.ok;
    if (!jobs.length) return print('no jobs'), EXIT.ok;
    print(table([['ID', 'STATE', 'MODEL', 'OK', 'FAILED', 'PROGRESS', 'CREATED', 'INPUT'], ...jobs.map((j) => [j.id, j.state, j.model, String(j.records.ok), String(j.records.failed), `${j.progress}%`, j.created_at, j.input])]));
    return EXIT.ok;
  },
};

const batchCancel: Command = {
  usage: 'batch cancel <id> [--json]',
  summary: 'stop a job',
  async run({ client, args, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    const status = await client.batches.cancel(id);
    if (json) printJson(status);
    else print(`job ${status.id}: ${status.state}`);
    return EXIT.ok;
  },
};

const batchDownload: Command = {
  usage: 'batch download <id> [--errors] [-o file] [--json]',
  summary: "a succeeded job's result lines (or with --errors its error lines), JSON Lines in input order, to stdout or a file",
  options: { errors: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
  async run({ client, args, values, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    const stream = values.errors ? await client.batches.errors(id) : await client.batches.output(id);
    const file = str(values, 'output');
    const source = Readable.fromWeb(stream as unknown as NodeReadableStream<Uint8Array>);
    if (!file) {
      await pipeline(source, process.stdout, { end: false });
      return EXIT.ok;
    }
    let bytes = 0;
    let lines = 0;
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      for (const b of chunk) if (b === 10) lines++;
    });
    await pipeline(source, createWriteStream(file));
    if (json) printJson({ id, file, kind: values.errors ? 'errors' : 'output', lines, bytes });
    else note(`wrote ${lines} lines (${bytes} bytes) to ${file}`);
    return EXIT.ok;
  },
};

// ---------- sessions ----------

function parseRating(text: string): { item_id: number; rating: number } {
  const match = /^(\d+)=(.+)$/.exec(text);
  if (!match) throw new UsageError(`--rate takes <item id>=<rating>, got '${text}'`);
  return { item_id: integer(match[1]!, '--rate item id'), rating: number(match[2]!, '--rate rating') };
}

function printAnswer(answer: { step: number; items: { item_id: number; title: string; score: number }[] }): void {
  if (!answer.items.length) return print('(nothing left to recommend)');
  answer.items.forEach((item, i) => print(`${String(i + 1).padStart(2)}. ${item.title}  [item ${item.item_id}, score ${item.score.toFixed(4)}]`));
}

const sessionStart: Command = {
  usage: 'session start --model <model> [--version v] [--rate <item>=<rating> ...] [--exclude <item> ...] [--json]',
  summary: 'start a session (prints its id), optionally with ratings the user already gave',
  options: { model: { type: 'string', short: 'm' }, version: { type: 'string' }, rate: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true } },
  async run({ client, args, values, json }) {
    noMore(args, 0);
    const model = str(values, 'model');
    if (!model) throw new UsageError('--model is required');
    const ratings = ((values.rate as string[] | undefined) ?? []).map(parseRating);
    const exclude = ((values.exclude as string[] | undefined) ?? []).map((e) => integer(e, '--exclude'));
    const session = await client.sessions.create({ model, version: str(values, 'version'), context: { ratings, exclude } });
    if (json) return printJson(session), EXIT.ok;
    print(session.id);
    note(`session ${session.id}: ${session.model} v${session.model_version}, ${session.ratings} ratings, expires ${session.expires_at}`);
    return EXIT.ok;
  },
};

const recommendCommand = (tryAgain: boolean): Command => ({
  usage: `session ${tryAgain ? 'try-again' : 'recommend'} <id> [-k n] [--json]`,
  summary: tryAgain ? 'reject the last answer and recommend again' : 'the best k items not yet shown, rated or rejected',
  options: { k: { type: 'string', short: 'k' } },
  async run({ client, args, values, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    const k = str(values, 'k') === undefined ? undefined : integer(str(values, 'k')!, '-k');
    const answer = tryAgain ? await client.sessions.tryAgain(id, k) : await client.sessions.recommend(id, k);
    if (json) return printJson(answer), EXIT.ok;
    printAnswer(answer);
    return EXIT.ok;
  },
});

const sessionRate: Command = {
  usage: 'session rate <id> <item> <rating> [--json]',
  summary: 'rate any item 0.5-5; ratings change what comes next',
  async run({ client, args, json }) {
    const [id, item, rating] = [positional(args, 0, '<id>'), positional(args, 1, '<item>'), positional(args, 2, '<rating>')];
    noMore(args, 3);
    const result = await client.sessions.feedback(id, { action: 'rate', item_id: integer(item, '<item>'), rating: number(rating, '<rating>') });
    if (json) return printJson(result), EXIT.ok;
    print(`rated item ${item} ${rating} (step ${result.step})`);
    return EXIT.ok;
  },
};

const feedbackCommand = (action: 'accept' | 'reject'): Command => ({
  usage: `session ${action} <id> <item> [--json]`,
  summary: `${action} an item the session recommended`,
  async run({ client, args, json }) {
    const [id, item] = [positional(args, 0, '<id>'), positional(args, 1, '<item>')];
    noMore(args, 2);
    const result = await client.sessions.feedback(id, { action, item_id: integer(item, '<item>') });
    if (json) return printJson(result), EXIT.ok;
    print(`${action}ed item ${item} (step ${result.step})`);
    return EXIT.ok;
  },
});

const sessionShow: Command = {
  usage: 'session show <id> [--json]',
  summary: "a session's model, counts, expiry and history",
  async run({ client, args, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    const s = await client.sessions.get(id);
    if (json) return printJson(s), EXIT.ok;
    print(`session ${s.id}: ${s.model} v${s.model_version}, ${s.ratings} ratings, ${s.shown} shown`);
    print(`  created ${s.created_at}, last active ${s.last_active_at}, expires ${s.expires_at}`);
    for (const step of s.history) {
      const what = step.items ? step.items.map((i) => `${i.title} [${i.item_id}]`).join('; ') : step.item_id !== undefined ? `item ${step.item_id}${step.rating !== undefined ? ` = ${step.rating}` : ''}` : '';
      print(`  ${String(step.step).padStart(3)}  ${step.action.padEnd(9)}  ${what}`);
    }
    return EXIT.ok;
  },
};

const sessionList: Command = {
  usage: 'session list [--json]',
  summary: 'your open sessions',
  async run({ client, args, json }) {
    noMore(args, 0);
    const sessions = await client.sessions.list();
    if (json) return printJson(sessions), EXIT.ok;
    if (!sessions.length) return print('no sessions'), EXIT.ok;
    print(table([['ID', 'MODEL', 'VERSION', 'CREATED'], ...sessions.map((s) => [s.id, s.model, s.model_version, s.created_at])]));
    return EXIT.ok;
  },
};

const sessionEnd: Command = {
  usage: 'session end <id> [--json]',
  summary: 'end a session; it leaves no storage',
  async run({ client, args, json }) {
    const id = positional(args, 0, '<id>');
    noMore(args, 1);
    await client.sessions.end(id);
    if (json) printJson({ id, ended: true });
    else print(`ended ${id}`);
    return EXIT.ok;
  },
};

// ---------- repository and server ----------

const upload: Command = {
  usage: 'upload <model folder | repository folder> [--optimize] [--json]',
  summary:
    'load a Triton model folder (config.pbtxt + <version>/model.onnx), or every one in a repository; versions already served are skipped (admin key). ' +
    '--optimize applies ONNX Runtime\'s graph optimisations here first (onnxruntime-node), so the server creates its sessions faster',
  options: { optimize: { type: 'boolean' } },
  async run({ client, args, values, json }) {
    const root = positional(args, 0, '<folder>');
    noMore(args, 1);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`no such folder: ${root}`);
    let results;
    try {
      results = await uploadRepository(client, root, {
        warn: note,
        ...(values.optimize === true && {
          transform: async (model, path) => {
            const optimized = await optimizeModel(model);
            note(`${path}: optimized, ${model.byteLength} → ${optimized.byteLength} bytes`);
            return optimized;
          },
        }),
        onResult: (r) => {
          if (json) return;
          if (r.ok) print(`${r.name}: loaded (${r.files.join(', ') || 'no new files'})`);
          else note(`${r.name}: ${r.status} ${r.error}`);
        },
      });
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new UsageError((error as Error).message);
    }
    if (json) printJson(results);
    return results.some((r) => !r.ok) ? EXIT.api : EXIT.ok;
  },
};

const server: Command = {
  usage: 'server [--json]',
  summary: 'server name, version, extensions and health',
  async run({ client, args, json }) {
    noMore(args, 0);
    const [metadata, health] = await Promise.all([client.server(), client.health()]);
    if (json) return printJson({ ...metadata, ...health, url: client.url }), EXIT.ok;
    print(`${client.url}: ${metadata.name} ${metadata.version}, live ${health.live}, ready ${health.ready}`);
    print(`extensions: ${metadata.extensions.join(', ')}`);
    return EXIT.ok;
  },
};

// ---------- consumer keys ----------

const keysAdd: Command = {
  usage: 'keys add <consumer> [--admin] [--tier t] [--json]',
  summary: 'add a consumer and print its new key, shown this once (admin key)',
  options: { admin: { type: 'boolean' }, tier: { type: 'string' } },
  async run({ client, args, values, json }) {
    const consumer = positional(args, 0, '<consumer>');
    noMore(args, 1);
    const created = await client.consumers.create({ consumer, admin: values.admin === true, ...(str(values, 'tier') !== undefined && { tier: str(values, 'tier') }) });
    if (json) return printJson(created), EXIT.ok;
    print(created.key);
    note(`added consumer '${created.consumer}' (${created.admin ? 'admin, ' : ''}tier ${created.tier}); the key above is shown this once: keep it`);
    return EXIT.ok;
  },
};

const keysList: Command = {
  usage: 'keys list [--json]',
  summary: 'every consumer: the bootstrap ones of the CONSUMER_KEYS secret and those added, revoked ones too (admin key)',
  async run({ client, args, json }) {
    noMore(args, 0);
    const consumers = await client.consumers.list();
    if (json) return printJson(consumers), EXIT.ok;
    if (!consumers.length) return print('no consumers'), EXIT.ok;
    const state = (c: (typeof consumers)[number]) => (c.revoked_at ? `revoked ${c.revoked_at}` : 'active');
    print(table([['CONSUMER', 'ADMIN', 'TIER', 'SOURCE', 'CREATED', 'STATE'], ...consumers.map((c) => [c.consumer, c.admin ? 'yes' : 'no', c.tier, c.source, c.created_at ?? '-', state(c)])]));
    return EXIT.ok;
  },
};

const keysRevoke: Command = {
  usage: 'keys revoke <consumer> [--json]',
  summary: "revoke a consumer's key; every server instance refuses it within 30 s (admin key)",
  async run({ client, args, json }) {
    const consumer = positional(args, 0, '<consumer>');
    noMore(args, 1);
    await client.consumers.revoke(consumer);
    if (json) printJson({ consumer, revoked: true });
    else print(`revoked '${consumer}': its key stops working within 30 s`);
    return EXIT.ok;
  },
};

// ---------- dispatch ----------

const COMMANDS: Record<string, Command> = {
  server,
  models: modelsList,
  'models show': modelsShow,
  infer,
  'batch submit': batchSubmit,
  'batch status': batchStatus,
  'batch wait': batchWait,
  'batch list': batchList,
  'batch cancel': batchCancel,
  'batch download': batchDownload,
  'session start': sessionStart,
  'session recommend': recommendCommand(false),
  'session try-again': recommendCommand(true),
  'session rate': sessionRate,
  'session accept': feedbackCommand('accept'),
  'session reject': feedbackCommand('reject'),
  'session show': sessionShow,
  'session list': sessionList,
  'session end': sessionEnd,
  upload,
  'keys add': keysAdd,
  'keys list': keysList,
  'keys revoke': keysRevoke,
};
const GROUPS = ['batch', 'session', 'keys'];

const GLOBAL_HELP = `global options:
  --url <url>   server (default $EDGE_INFERENCE_URL, else ${DEFAULT_URL})
  --key <key>   API key (default $EDGE_INFERENCE_KEY)
  --json        machine-readable JSON on stdout, nothing else
  -h, --help    this help, or a command's
exit codes: 0 success, 1 server/API error, 2 usage error, 3 batch job failed or cancelled`;

function usage(prefix?: string): string {
  const names = Object.keys(COMMANDS).filter((n) => !prefix || n === prefix || n.startsWith(`${prefix} `));
  const lines = names.map((n) => `  ${COMMANDS[n]!.usage}\n      ${COMMANDS[n]!.summary}`);
  return `usage: edge-inference <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}`;
}

function commandHelp(name: string): string {
  const command = COMMANDS[name]!;
  return `usage: edge-inference ${command.usage}\n\n${command.summary}${name === 'infer' ? "\n\n--json followed by an argument starting with '{' is the request; a bare --json asks for JSON output.\n--file - reads the request from stdin." : ''}\n\n${GLOBAL_HELP}`;
}

/** The command words: the first positionals, skipping the values of global string options. */
function commandWords(argv: string[]): { name?: string; group?: string; rest: string[] } {
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === '--url' || arg === '--key') i++;
    else if (!arg.startsWith('-')) words.push(i);
    else if (words.length) break; // options after the first word end the command words
  }
  const [w0, w1] = words.map((i) => argv[i]!);
  const drop = (n: number) => argv.filter((_, i) => !words.slice(0, n).includes(i));
  if (w0 !== undefined && w1 !== undefined && COMMANDS[`${w0} ${w1}`]) return { name: `${w0} ${w1}`, rest: drop(2) };
  if (w0 !== undefined && COMMANDS[w0]) return { name: w0, rest: drop(1) };
  if (w0 !== undefined && GROUPS.includes(w0)) return { group: w0, rest: drop(1) };
  return { rest: argv };
}

/** `infer --json '{...}'`: the request; a bare `--json` stays the output flag. */
function inferRequestArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json' && args[i + 1]?.trimStart().startsWith('{')) out.push('--request', args[++i]!);
    else if (arg.startsWith('--json=')) out.push(`--request=${arg.slice('--json='.length)}`);
    else out.push(arg);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { name, group, rest } = commandWords(argv);
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (!name) {
    if (group && wantsHelp) return print(usage(group)), EXIT.ok;
    if (!group && wantsHelp && argv.every((a) => a.startsWith('-'))) return print(usage()), EXIT.ok;
    const first = argv.find((a) => !a.startsWith('-'));
    note(group ? `unknown ${group} command${rest[0] && !rest[0].startsWith('-') ? ` '${rest[0]}'` : ''}` : first ? `unknown command '${first}'` : 'missing command');
    note(usage(group));
    return EXIT.usage;
  }
  const command = COMMANDS[name]!;
  let ctx: Context;
  try {
    const { values, positionals } = parseArgs({
      args: name === 'infer' ? inferRequestArgs(rest) : rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) return print(commandHelp(name)), EXIT.ok;
    const url = (values.url as string | undefined) ?? process.env.EDGE_INFERENCE_URL ?? DEFAULT_URL;
    const key = (values.key as string | undefined) ?? process.env.EDGE_INFERENCE_KEY;
    ctx = { client: createClient({ url, key }), values: values as Values, args: positionals, json: values.json === true };
  } catch (error) {
    note(`error: ${(error as Error).message}`);
    note(commandHelp(name));
    return EXIT.usage;
  }
  try {
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      note(`error: ${error.message}`);
      note(`usage: edge-inference ${command.usage}`);
      return EXIT.usage;
    }
    if (error instanceof ApiError) {
      note(`error: ${error.message}`);
      return EXIT.api;
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (error instanceof TypeError && error.message === 'fetch failed') {
      note(`error: cannot reach ${ctx.client.url}: ${cause?.code ?? cause?.message ?? 'fetch failed'}`);
      return EXIT.api;
    }
    note(`error: ${(error as Error).message}`);
    return EXIT.api;
  }
}

// Run when executed (directly or through the npm bin link), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}
