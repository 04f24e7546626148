// npm run setup [-- --dry-run] [--rotate-admin] [--admin <id>]
//
// Creates or checks everything a Cloudflare account needs before `wrangler deploy`, with wrangler alone, reading
// every name from wrangler.toml: the R2 buckets, the queues (producers, consumers and dead-letter queues), the R2
// event notification rule that turns uploads under inbox/ of the batch bucket into messages on the events queue, and
// the CONSUMER_KEYS secret with a generated bootstrap admin key (only its SHA-256 is stored; the key is printed once).
// Idempotent: it lists what exists first and creates only what is missing; a run on a complete account changes
// nothing. `--dry-run` prints the exact wrangler command lines, the checks and the creations, and runs none (no
// network). Every wrangler call goes through `wrangler()` below, so the dry run and a real run share the code.
// Exit codes: 0 done, 1 a wrangler command failed, 2 a usage or configuration error.
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, stripVTControlCharacters } from 'node:util';
import { parse } from 'smol-toml';
import { keyHash, newKey } from '../src/consumers/keys.ts';

const ROOT = join(import.meta.dirname, '..');
/** Uploads under this prefix of the batch bucket start jobs (src/batch/notification.ts reads the same layout). */
export const INBOX_PREFIX = 'inbox/';
export const SECRET = 'CONSUMER_KEYS';
/** The R2 event type of a rule made with `--event-type object-create`, as `notification list` shows it. */
const OBJECT_CREATE_ACTION = 'PutObject';

export interface Plan {
  worker: string;
  /** Every bucket bound in wrangler.toml (MODELS and BATCH). */
  buckets: string[];
  /** Every queue named in wrangler.toml: producers, consumers and dead-letter queues, in order, once each. */
  queues: string[];
  /** The batch bucket (binding BATCH) and the queue its inbox notifications go to (producer binding BATCH_EVENTS). */
  batchBucket: string;
  eventsQueue: string;
}

class ConfigError extends Error {}

interface Toml {
  name?: string;
  r2_buckets?: { binding?: string; bucket_name?: string }[];
  queues?: { producers?: { binding?: string; queue?: string }[]; consumers?: { queue?: string; dead_letter_queue?: string }[] };
}

/** The names setup needs, from the text of wrangler.toml. */
export function planFrom(text: string): Plan {
  const toml = parse(text) as Toml;
  const buckets = [...new Set((toml.r2_buckets ?? []).map((b) => b.bucket_name).filter((n): n is string => !!n))];
  const producers = toml.queues?.producers ?? [];
  const consumers = toml.queues?.consumers ?? [];
  const queues = [...new Set([...producers.map((p) => p.queue), ...consumers.flatMap((c) => [c.queue, c.dead_letter_queue])].filter((n): n is string => !!n))];
  const batchBucket = toml.r2_buckets?.find((b) => b.binding === 'BATCH')?.bucket_name;
  const eventsQueue = producers.find((p) => p.binding === 'BATCH_EVENTS')?.queue;
  if (!toml.name) throw new ConfigError('wrangler.toml has no Worker name');
  if (!batchBucket) throw new ConfigError('wrangler.toml binds no R2 bucket as BATCH');
  if (!eventsQueue) throw new ConfigError('wrangler.toml has no queue producer bound as BATCH_EVENTS');
  return { worker: toml.name, buckets, queues, batchBucket, eventsQueue };
}

// ---------- reading wrangler's answers ----------

/** `wrangler r2 bucket list`: blocks of `name: …` / `creation_date: …` lines. */
export function bucketNames(output: string): Set<string> {
  return new Set([...stripVTControlCharacters(output).matchAll(/^name:\s+(\S+)\s*$/gm)].map((m) => m[1]!));
}

/** `wrangler queues list`: a box table; the cells of its `name` column. */
export function queueNames(output: string): Set<string> {
  const rows = stripVTControlCharacters(output)
    .split('\n')
    .filter((line) => line.trimStart().startsWith('│'))
    .map((line) => line.trim().slice(1, -1).split('│').map((cell) => cell.trim()));
  const column = rows[0]?.indexOf('name') ?? -1;
  return new Set(column < 0 ? [] : rows.slice(1).map((r) => r[column]!).filter(Boolean));
}

export interface NotificationRule {
  queue_name?: string;
  prefix?: string;
  event_type?: string;
}

/** `wrangler r2 bucket notification list <bucket>`: blocks of `label: value` lines, one per rule. */
export function notificationRules(output: string): NotificationRule[] {
  return stripVTControlCharacters(output)
    .split(/\n\s*\n/)
    .map((block) => Object.fromEntries([...block.matchAll(/^(\w+):\s+(.*?)\s*$/gm)].map((m) => [m[1]!, m[2]!])) as NotificationRule)
    .filter((rule) => rule.queue_name !== undefined);
}

export const hasInboxRule = (rules: NotificationRule[], queue: string) =>
  rules.some((r) => r.queue_name === queue && r.prefix === INBOX_PREFIX && (r.event_type ?? '').split(',').includes(OBJECT_CREATE_ACTION));

/** `wrangler secret list` (JSON by default): the secrets' names. */
export function secretNames(output: string): Set<string> {
  // The JSON array is printed on lines of its own, perhaps after warnings (which may hold brackets too).
  const json = /^\[\]\s*$|^\[\s*$[\s\S]*?^\]\s*$/m.exec(stripVTControlCharacters(output))?.[0];
  if (json === undefined) throw new Error(`cannot read \`wrangler secret list\`: ${output.trim().slice(0, 300)}`);
  return new Set((JSON.parse(json) as { name: string }[]).map((s) => s.name));
}

// ---------- running wrangler ----------

const SAFE = /^[A-Za-z0-9_./:=@%+,-]+$/;
const shellQuote = (arg: string) => (SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
export const commandLine = (args: string[]) => ['npx', 'wrangler', ...args].map(shellQuote).join(' ');

interface Call {
  /** A check lists what exists; its failure is the caller's to judge. Otherwise a failure stops setup. */
  check?: boolean;
  /** Written to wrangler's stdin (a secret's value); the dry run shows `shownInput` instead. */
  input?: string;
  shownInput?: string;
  /** A comment the dry run prints after the command line: when it would run. */
  when?: string;
}
interface Answer {
  code: number;
  output: string;
}
/** Runs one wrangler command, or in a dry run prints it and answers undefined. */
export type Wrangler = (args: string[], call?: Call) => Promise<Answer | undefined>;

export function makeWrangler(dryRun: boolean, log: (line: string) => void): Wrangler {
  return async (args, call = {}) => {
    const line = commandLine(args);
    if (dryRun) {
      const comments = [call.when, call.shownInput !== undefined && `stdin: ${call.shownInput}`].filter(Boolean);
      log(comments.length ? `${line}   # ${comments.join('; ')}` : line);
      return undefined;
    }
    log(`$ ${line}`);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const child = spawn('npx', ['wrangler', ...args], { cwd: ROOT, stdio: [call.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => (output += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, output }));
      if (call.input !== undefined) child.stdin!.end(call.input);
    });
    if (answer.code !== 0 && !call.check) throw new WranglerFailed(line, answer.output);
    return answer;
  };
}

export class WranglerFailed extends Error {
  constructor(line: string, output: string) {
    super(`\`${line}\` failed:\n${output.trim()}`);
  }
}

/** A check's output; in a dry run undefined, so everything counts as missing and every creation is printed. */
async function listing(wrangler: Wrangler, args: string[]): Promise<string | undefined> {
  const answer = await wrangler(args, { check: true });
  if (answer && answer.code !== 0) throw new WranglerFailed(commandLine(args), answer.output);
  return answer?.output;
}

// ---------- setup ----------

export interface SetupOptions {
  dryRun: boolean;
  rotateAdmin: boolean;
  admin: string;
  log: (line: string) => void;
}

/** Brings the account in line with the plan; answers the new admin key, if it made one. */
export async function setup(plan: Plan, wrangler: Wrangler, options: SetupOptions): Promise<string | undefined> {
  const { log, dryRun } = options;
  const exists = (what: string) => log(`✓ ${what} exists`);
  const ifMissing = dryRun ? 'if missing' : undefined;

  const buckets = await listing(wrangler, ['r2', 'bucket', 'list']);
  const haveBuckets = buckets === undefined ? new Set<string>() : bucketNames(buckets);
  for (const bucket of plan.buckets) {
    if (haveBuckets.has(bucket)) exists(`R2 bucket ${bucket}`);
    else await wrangler(['r2', 'bucket', 'create', bucket], { when: ifMissing });
  }

  // Queues come a page at a time; pages are read until every queue is found or a page is empty.
  const haveQueues = new Set<string>();
  for (let page = 1; page <= 100; page++) {
    const output = await listing(wrangler, ['queues', 'list', ...(page > 1 ? ['--page', String(page)] : [])]);
    if (output === undefined) break;
    const names = queueNames(output);
    names.forEach((n) => haveQueues.add(n));
    if (!names.size || plan.queues.every((q) => haveQueues.has(q))) break;
  }
  for (const queue of plan.queues) {
    if (haveQueues.has(queue)) exists(`queue ${queue}`);
    else await wrangler(['queues', 'create', queue], { when: ifMissing });
  }

  const rules = await listing(wrangler, ['r2', 'bucket', 'notification', 'list', plan.batchBucket]);
  const rule = `notification rule ${plan.batchBucket}/${INBOX_PREFIX}* object-create → ${plan.eventsQueue}`;
  if (rules !== undefined && hasInboxRule(notificationRules(rules), plan.eventsQueue)) exists(rule);
  else {
    const args = ['r2', 'bucket', 'notification', 'create', plan.batchBucket, '--event-type', 'object-create', '--prefix', INBOX_PREFIX, '--queue', plan.eventsQueue];
    await wrangler(args, { when: ifMissing });
  }

  // A Worker that was never deployed has no secrets (and `secret list` fails): `secret put` then creates it as a draft,
  // which `wrangler deploy` replaces, keeping the secret; the deploy needs it ([secrets] required).
  const secrets = await wrangler(['secret', 'list'], { check: true });
  let haveSecret = false;
  if (secrets && secrets.code === 0) haveSecret = secretNames(secrets.output).has(SECRET);
  else if (secrets && !/not found|does not exist|10007/i.test(secrets.output)) throw new WranglerFailed(commandLine(['secret', 'list']), secrets.output);
  if (haveSecret && !options.rotateAdmin) {
    exists(`secret ${SECRET} (the bootstrap admin's key hash; replace it with --rotate-admin)`);
    return undefined;
  }
  const entry = (hash: string) => JSON.stringify({ [hash]: { consumer: options.admin, admin: true } });
  if (dryRun) {
    const when = options.rotateAdmin ? 'replaces the secret (--rotate-admin)' : 'if missing';
    await wrangler(['secret', 'put', SECRET], { when, shownInput: entry('<sha256 hex of a new random admin key>') });
    return undefined;
  }
  const key = newKey();
  await wrangler(['secret', 'put', SECRET], { input: entry(await keyHash(key)) });
  return key;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { 'dry-run': { type: 'boolean' }, 'rotate-admin': { type: 'boolean' }, admin: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(`usage: npm run setup [-- --dry-run] [--rotate-admin] [--admin <id>]
  --dry-run       print the wrangler commands (checks, then creations when missing); run none
  --rotate-admin  replace the CONSUMER_KEYS secret with a new bootstrap admin key (the old key stops working)
  --admin <id>    the bootstrap admin's consumer id (default "admin")`);
    return 0;
  }
  const admin = values.admin ?? 'admin';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(admin)) {
    console.error(`error: --admin must be 1-64 letters, digits, '_' or '-', got '${admin}'`);
    return 2;
  }
  const dryRun = values['dry-run'] === true;
  const log = (line: string) => console.log(line);
  try {
    const plan = planFrom(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'));
    if (dryRun) log(`# setup for Worker ${plan.worker} (dry run: these commands would run, the creations only for what is missing)`);
    const key = await setup(plan, makeWrangler(dryRun, log), { dryRun, rotateAdmin: values['rotate-admin'] === true, admin, log });
    if (key) {
      log('');
      log(`Bootstrap admin '${admin}': its key is shown this once. Keep it; only its SHA-256 is stored.`);
      log(`  ${key}`);
      log('Next: npx wrangler deploy; then add consumers: EDGE_INFERENCE_URL=https://<worker url> EDGE_INFERENCE_KEY=<this key> npx edge-inference keys add <consumer>');
    } else if (!dryRun) log('Setup complete. Next: npx wrangler deploy');
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return error instanceof ConfigError || (error as { name?: string }).name === 'TomlError' ? 2 : 1;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
