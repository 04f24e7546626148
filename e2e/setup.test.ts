// `npm run setup` (scripts/setup.ts) without Cloudflare: the dry run's printed wrangler commands, and real runs against
// a stand-in `npx` on PATH that answers wrangler's list commands as wrangler prints them and records every call.
// Plain Node, no server: node --test e2e/setup.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, runNode, type Run } from './run-node.ts';

const SETUP = join(ROOT, 'scripts', 'setup.ts');

const setup = (args: string[], env: Record<string, string> = {}): Promise<Run> => runNode(SETUP, args, env);

// A stand-in for `npx`: logs its arguments, answers from files in its folder, and fails on anything unexpected.
const FAKE_NPX = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/calls.log"
[ "$1" = wrangler ] || exit 97
shift
case "$*" in
  "r2 bucket list") cat "$dir/buckets.txt" ;;
  "queues list") cat "$dir/queues.txt" ;;
  "queues list --page "*) ;;
  "r2 bucket notification list "*) cat "$dir/rules.txt" ;;
  "secret list") if [ -f "$dir/secrets.json" ]; then cat "$dir/secrets.json"; else echo '✘ [ERROR] Worker "edge-inference" not found.' >&2; exit 1; fi ;;
  "secret put CONSUMER_KEYS") cat > "$dir/secret-value"; echo "✨ Success! Uploaded secret CONSUMER_KEYS" ;;
  "r2 bucket create "*|"queues create "*|"r2 bucket notification create "*) [ -f "$dir/fail-create" ] && { echo "✘ [ERROR] A request to the Cloudflare API failed." >&2; exit 1; }; echo "Created" ;;
  *) echo "unexpected: $*" >&2; exit 98 ;;
esac
`;

// What wrangler 4 prints for its list commands (formatLabelledValues blocks; a cli-table3 box table; JSON).
const BUCKETS_MODELS_ONLY = ` ⛅️ wrangler 4.164.0
───────────────────
Listing buckets...
name:           edge-inference-models
creation_date:  2026-01-02T03:04:05.000Z

name:           edge-inference-models-old
creation_date:  2025-01-02T03:04:05.000Z
`;
const BUCKETS_ALL = `${BUCKETS_MODELS_ONLY}
name:           edge-inference-batch
creation_date:  2026-01-02T03:04:05.000Z
`;
const queueTable = (names: string[]) => {
  const width = Math.max(4, ...names.map((n) => n.length));
  const line = (l: string, m: string, r: string) => `${l}${'─'.repeat(34)}${m}${'─'.repeat(width + 2)}${m}${'─'.repeat(11)}${r}`;
  const row = (id: string, name: string, producers: string) => `│ ${id.padEnd(32)} │ ${name.padEnd(width)} │ ${producers.padEnd(9)} │`;
  return [line('┌', '┬', '┐'), row('id', 'name', 'producers'), line('├', '┼', '┤'), ...names.map((n, i) => row(`${i}`.repeat(32).slice(0, 32), n, '1')), line('└', '┴', '┘')].join('\n');
};
const RULES = `Fetching notification rules for bucket edge-inference-batch...
rule_id:     3f0e2a1c-0000-4000-8000-000000000000
created_at:  2026-01-02T03:04:05.000Z
queue_name:  edge-inference-batch-events
prefix:      inbox/
suffix:      (all suffixes)
event_type:  PutObject,CompleteMultipartUpload,CopyObject
`;

const ALL_QUEUES = ['edge-inference-batch-events', 'edge-inference-batch-chunks', 'edge-inference-batch-chunks-dlq'];

describe('npm run setup -- --dry-run', () => {
  let out: Run;
  let fake: string;
  before(async () => {
    // Any wrangler call would land in this npx and be logged: the dry run must make none.
    fake = mkdtempSync(join(tmpdir(), 'setup-dry-'));
    writeFileSync(join(fake, 'npx'), FAKE_NPX);
    chmodSync(join(fake, 'npx'), 0o755);
    out = await setup(['--dry-run'], { PATH: `${fake}:${process.env.PATH}` });
  });
  after(() => rmSync(fake, { recursive: true, force: true }));

  test('runs nothing', () => {
    assert.equal(out.code, 0, out.stderr);
    assert.equal(existsSync(join(fake, 'calls.log')), false);
  });

  test('prints the checks, then the creations, in order, with the names from wrangler.toml', () => {
    const commands = out.stdout
      .split('\n')
      .filter((l) => l.startsWith('npx wrangler '))
      .map((l) => l.replace(/\s+#.*$/, ''));
    assert.deepEqual(commands, [
      'npx wrangler r2 bucket list',
      'npx wrangler r2 bucket create edge-inference-models',
      'npx wrangler r2 bucket create edge-inference-batch',
      'npx wrangler queues list',
      'npx wrangler queues create edge-inference-batch-events',
      'npx wrangler queues create edge-inference-batch-chunks',
      'npx wrangler queues create edge-inference-batch-chunks-dlq',
      'npx wrangler r2 bucket notification list edge-inference-batch',
      'npx wrangler r2 bucket notification create edge-inference-batch --event-type object-create --prefix inbox/ --queue edge-inference-batch-events',
      'npx wrangler secret list',
      'npx wrangler secret put CONSUMER_KEYS',
    ]);
  });

  test('marks creations as conditional and shows the secret holds only a hash', () => {
    assert.match(out.stdout, /^npx wrangler queues create edge-inference-batch-chunks-dlq {3}# if missing$/m);
    assert.match(out.stdout, /^npx wrangler secret put CONSUMER_KEYS {3}# if missing; stdin: \{"<sha256 hex of a new random admin key>":\{"consumer":"admin","admin":true\}\}$/m);
    assert.doesNotMatch(out.stdout, /ei_[A-Za-z0-9_-]{43}/, 'the dry run makes no key');
  });

  test('--rotate-admin replaces the secret', async () => {
    const rotated = await setup(['--dry-run', '--rotate-admin', '--admin', 'ops']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^npx wrangler secret put CONSUMER_KEYS {3}# replaces the secret \(--rotate-admin\); stdin: \{"<sha256 hex of a new random admin key>":\{"consumer":"ops","admin":true\}\}$/m);
  });

  test('refuses bad usage with exit code 2', async () => {
    assert.equal((await setup(['--dry-run', '--nope'])).code, 2);
    assert.equal((await setup(['--dry-run', '--admin', 'has space'])).code, 2);
  });
});

describe('npm run setup against an account (a stand-in npx)', () => {
  let fake: string;
  const calls = () => readFileSync(join(fake, 'calls.log'), 'utf8').trim().split('\n');
  const run = (args: string[] = []) => setup(args, { PATH: `${fake}:${process.env.PATH}` });

  before(() => {
    fake = mkdtempSync(join(tmpdir(), 'setup-'));
    writeFileSync(join(fake, 'npx'), FAKE_NPX);
    chmodSync(join(fake, 'npx'), 0o755);
  });
  after(() => rmSync(fake, { recursive: true, force: true }));

  test('creates only what is missing, and prints the admin key whose hash it stored', async () => {
    writeFileSync(join(fake, 'buckets.txt'), BUCKETS_MODELS_ONLY);
    writeFileSync(join(fake, 'queues.txt'), queueTable(['edge-inference-batch-events', 'edge-inference-batch-chunks-old']));
    writeFileSync(join(fake, 'rules.txt'), 'Fetching notification rules for bucket edge-inference-batch...\n');
    const out = await run();
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.deepEqual(calls(), [
      'wrangler r2 bucket list',
      'wrangler r2 bucket create edge-inference-batch',
      'wrangler queues list',
      'wrangler queues list --page 2',
      'wrangler queues create edge-inference-batch-chunks',
      'wrangler queues create edge-inference-batch-chunks-dlq',
      'wrangler r2 bucket notification list edge-inference-batch',
      'wrangler r2 bucket notification create edge-inference-batch --event-type object-create --prefix inbox/ --queue edge-inference-batch-events',
      'wrangler secret list',
      'wrangler secret put CONSUMER_KEYS',
    ]);
    const key = /^ {2}(ei_[A-Za-z0-9_-]{43})$/m.exec(out.stdout)?.[1];
    assert.ok(key, out.stdout);
    const secret = JSON.parse(readFileSync(join(fake, 'secret-value'), 'utf8'));
    assert.deepEqual(secret, { [createHash('sha256').update(key).digest('hex')]: { consumer: 'admin', admin: true } });
    assert.ok(!readFileSync(join(fake, 'secret-value'), 'utf8').includes(key), 'the secret holds the hash, never the key');
    assert.match(out.stdout, /✓ R2 bucket edge-inference-models exists/);
  });

  test('changes nothing on a complete account, and keeps the secret', async () => {
    rmSync(join(fake, 'calls.log'));
    writeFileSync(join(fake, 'buckets.txt'), BUCKETS_ALL);
    writeFileSync(join(fake, 'queues.txt'), queueTable(ALL_QUEUES));
    writeFileSync(join(fake, 'rules.txt'), RULES);
    writeFileSync(join(fake, 'secrets.json'), JSON.stringify([{ name: 'CONSUMER_KEYS', type: 'secret_text' }], null, '  '));
    const out = await run();
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.deepEqual(calls(), ['wrangler r2 bucket list', 'wrangler queues list', 'wrangler r2 bucket notification list edge-inference-batch', 'wrangler secret list']);
    assert.doesNotMatch(out.stdout, /ei_[A-Za-z0-9_-]{43}/);
    assert.match(out.stdout, /✓ secret CONSUMER_KEYS/);
  });

  test('--rotate-admin puts a new admin key even when the secret exists', async () => {
    rmSync(join(fake, 'calls.log'));
    const out = await run(['--rotate-admin']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.equal(calls().at(-1), 'wrangler secret put CONSUMER_KEYS');
    assert.match(out.stdout, /^ {2}ei_[A-Za-z0-9_-]{43}$/m);
  });

  test('a rule for another prefix does not count; a failing wrangler call exits 1 with its message', async () => {
    rmSync(join(fake, 'calls.log'));
    writeFileSync(join(fake, 'rules.txt'), RULES.replace('prefix:      inbox/', 'prefix:      outbox/'));
    writeFileSync(join(fake, 'fail-create'), '');
    const out = await run();
    assert.equal(out.code, 1);
    assert.equal(calls().at(-1), 'wrangler r2 bucket notification create edge-inference-batch --event-type object-create --prefix inbox/ --queue edge-inference-batch-events');
    assert.match(out.stderr, /notification create .* failed:\n.*Cloudflare API failed/);
  });
});
