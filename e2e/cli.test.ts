// The CLI (cli/main.ts) and the typed client (client/) against a real `wrangler dev`: each CLI test runs the
// command as a child process with EDGE_INFERENCE_URL / EDGE_INFERENCE_KEY and checks its stdout, stderr and exit code.
// Run: node --test --test-concurrency=1 e2e/cli.test.ts (Node 22).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startWranglerDev, type DevServer } from '../bench/dev-server.ts';
import { ROOT, runNode, type Run } from './run-node.ts';
import { ApiError, createClient } from '../client/index.ts';

const CLI = join(ROOT, 'cli', 'main.ts');
const KEY = 'demo-key-alice';
const reference = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/reference.json'), 'utf8'));

let server: DevServer;
let work: string;

/** Runs the CLI against the dev server as the demo admin. */
const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
  runNode(CLI, args, { EDGE_INFERENCE_URL: server.url, EDGE_INFERENCE_KEY: KEY, ...env });

const describeRun = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
function expectExit(r: Run, code: number): void {
  assert.equal(r.code, code, describeRun(r));
}
function jsonOf(r: Run): any {
  expectExit(r, 0);
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.fail(`stdout is not one JSON document:\n${describeRun(r)}`);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'edge-cli-'));
  server = await startWranglerDev(join(work, 'state'), 'warn');
}, { timeout: 90_000 });

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('--help, unknown commands and bad options', async () => {
  const help = await cli(['--help']);
  expectExit(help, 0);
  assert.match(help.stdout, /batch submit <file>/);
  const commandHelp = await cli(['batch', 'submit', '--help']);
  expectExit(commandHelp, 0);
  assert.match(commandHelp.stdout, /usage: edge-inference batch submit/);

  const unknown = await cli(['frobnicate']);
  expectExit(unknown, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.match(unknown.stderr, /usage: edge-inference/);
  assert.equal(unknown.stdout, '');
  expectExit(await cli(['infer', 'iris', '--no-such-flag']), 2);
  expectExit(await cli(['infer', 'iris']), 2);
});

test('models --json lists iris', async () => {
  const index = jsonOf(await cli(['models', '--json'])) as { name: string; version: string; state: string }[];
  assert.ok(index.some((m) => m.name === 'iris' && m.state === 'READY'), JSON.stringify(index));
  const shown = jsonOf(await cli(['models', 'show', 'iris', '--json']));
  assert.deepEqual(shown.metadata.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
  assert.deepEqual(shown.config.labels, ['setosa', 'versicolor', 'virginica']);
});

test('infer --csv shapes one row into the input and matches the reference', async () => {
  const response = jsonOf(await cli(['infer', 'iris', '--csv', '5.1,3.5,1.4,0.2', '--json']));
  const out = Object.fromEntries(response.outputs.map((o: { name: string; data: unknown[] }) => [o.name, o.data]));
  assert.deepEqual(out.label, [reference.iris.label[0]]);
  const want: number[] = reference.iris.probabilities[0];
  assert.equal(out.probabilities.length, want.length);
  out.probabilities.forEach((p: number, i: number) => assert.ok(Math.abs(p - want[i]!) <= 1e-5, `probabilities[${i}] ${p} vs ${want[i]}`));

  // The same request as --json, and as a file; the human output names the outputs.
  const request = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
  const viaJson = await cli(['infer', 'iris', '--json', request]);
  expectExit(viaJson, 0);
  assert.match(viaJson.stdout, /label {2}INT64 \[1\] {2}0/);
  writeFileSync(join(work, 'request.json'), request);
  assert.deepEqual(jsonOf(await cli(['infer', 'iris', '--file', join(work, 'request.json'), '--json'])).outputs, response.outputs);
});

test('an API error exits 1 with the server\'s message on stderr', async () => {
  const bad = await cli(['infer', 'iris', '--json', '{"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}', '--json']);
  expectExit(bad, 1);
  assert.match(bad.stderr, /input 'input': shape \[1, 3\] does not match the model's \[-1, 4\]/);
  assert.equal(bad.stdout, '');
  const unknownModel = await cli(['models', 'show', 'no-such-model']);
  expectExit(unknownModel, 1);
  assert.match(unknownModel.stderr, /Request for unknown model: 'no-such-model' is not found/);
  const badKey = await cli(['models'], { EDGE_INFERENCE_KEY: 'not-a-key' });
  expectExit(badKey, 1);
});

test('batch submit follows the job with progress, then download gives every row with its id', async () => {
  const rows = readFileSync(join(ROOT, 'data/iris/iris.csv'), 'utf8').trim().split('\n').slice(1);
  const count = 2000;
  const csv = ['id,sepal_length,sepal_width,petal_length,petal_width'];
  for (let i = 0; i < count; i++) csv.push(`row-${i},${rows[i % rows.length]!.split(',').slice(0, 4).join(',')}`);
  const file = join(work, 'iris-2000.csv');
  writeFileSync(file, `${csv.join('\n')}\n`);

  const submit = await cli(['batch', 'submit', file, '--model', 'iris', '--interval', '100']);
  expectExit(submit, 0);
  const id = submit.stdout.trim();
  assert.match(id, /^[0-9a-f]{32}$/, describeRun(submit));
  // Not a TTY: plain progress lines, the last one complete.
  const progress = submit.stderr.split('\n').filter((l) => /^\[[#-]{24}\]/.test(l));
  assert.ok(progress.length >= 1, describeRun(submit));
  assert.match(progress.at(-1)!, /100%\s+2000\/2000 records\s+\d+ rows\/s\s+errors 0\s+chunks 1\/1\s+succeeded/);
  assert.ok(!submit.stderr.includes('\r'));
  assert.match(submit.stderr, /succeeded: 2000 records scored, 0 failed/);

  const status = jsonOf(await cli(['batch', 'status', id, '--json']));
  assert.equal(status.state, 'succeeded');
  assert.equal(status.records.ok, count);
  assert.equal(status.records.failed, 0);
  assert.ok((jsonOf(await cli(['batch', 'list', '--json'])) as { id: string }[]).some((j) => j.id === id));

  const download = await cli(['batch', 'download', id]);
  expectExit(download, 0);
  const lines = download.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, count);
  lines.forEach((line, i) => assert.equal(line.id, `row-${i}`));
  assert.equal(lines[0].outputs.label, reference.iris.label[0]);

  const saved = join(work, 'errors.jsonl');
  const errors = jsonOf(await cli(['batch', 'download', id, '--errors', '-o', saved, '--json']));
  assert.equal(errors.lines, 0);
  assert.equal(readFileSync(saved, 'utf8'), '');
});

test('a batch job that fails exits 3 with its reason', async () => {
  const file = join(work, 'not-iris.csv');
  writeFileSync(file, 'a,b\n1,2\n');
  const submit = await cli(['batch', 'submit', file, '--model', 'iris', '--json', '--interval', '100']);
  expectExit(submit, 3);
  const status = JSON.parse(submit.stdout);
  assert.equal(status.state, 'failed');
  assert.match(submit.stderr, new RegExp(`job ${status.id} failed: `));
  const noModel = await cli(['batch', 'submit', file]);
  expectExit(noModel, 2);
  assert.match(noModel.stderr, /--model is required/);
});

test('sessions: start, recommend and try again with --json, ids captured', async () => {
  const started = jsonOf(await cli(['session', 'start', '--model', 'movielens', '--rate', '1=5', '--rate', '2355=4.5', '--rate', '4886=5', '--json']));
  assert.match(started.id, /^[0-9a-f]{32}$/);
  assert.equal(started.ratings, 3);
  const id: string = started.id;

  const first = jsonOf(await cli(['session', 'recommend', id, '-k', '3', '--json']));
  assert.equal(first.items.length, 3);
  const again = jsonOf(await cli(['session', 'try-again', id, '-k', '3', '--json']));
  assert.equal(again.items.length, 3);
  const shown = new Set(first.items.map((i: { item_id: number }) => i.item_id));
  assert.ok(again.items.every((i: { item_id: number }) => !shown.has(i.item_id)), 'try-again never repeats an item');

  expectExit(await cli(['session', 'rate', id, '296', '1']), 0);
  const summary = jsonOf(await cli(['session', 'show', id, '--json']));
  assert.equal(summary.ratings, 4);
  assert.ok((jsonOf(await cli(['session', 'list', '--json'])) as { id: string }[]).some((s) => s.id === id));

  // Without --json, start prints just the id on stdout.
  const plain = await cli(['session', 'start', '--model', 'movielens']);
  expectExit(plain, 0);
  assert.match(plain.stdout, /^[0-9a-f]{32}\n$/);

  assert.deepEqual(jsonOf(await cli(['session', 'end', id, '--json'])), { id, ended: true });
  const gone = await cli(['session', 'show', id]);
  expectExit(gone, 1);
  assert.match(gone.stderr, /session not found/);
});

test('upload loads a Triton model folder, which then serves', async () => {
  const upload = await cli(['upload', join(ROOT, 'test/fixtures/triton/simple'), '--json']);
  const results = jsonOf(upload);
  assert.deepEqual(results, [{ name: 'simple', ok: true, files: ['config.pbtxt', '1/model.onnx'] }]);
  const index = jsonOf(await cli(['models', '--json'])) as { name: string; state: string }[];
  assert.ok(index.some((m) => m.name === 'simple' && m.state === 'READY'));
  // Again: the version is there already, so only the config goes.
  assert.deepEqual(jsonOf(await cli(['upload', join(ROOT, 'test/fixtures/triton/simple'), '--json']))[0].files, ['config.pbtxt']);
  // A plain consumer may not change the repository.
  const denied = await cli(['upload', join(ROOT, 'test/fixtures/triton/simple')], { EDGE_INFERENCE_KEY: 'demo-key-bob' });
  expectExit(denied, 1);
  assert.match(denied.stderr, /simple: 403 /);
});

test('upload --optimize sends a model ONNX Runtime optimised ahead of time, which answers as the original does', async () => {
  // fashion-mnist under another name, with Triton's graph level 2 (no optimisation left for the server to do).
  const folder = join(work, 'fashion_optimized');
  mkdirSync(join(folder, '1'), { recursive: true });
  copyFileSync(join(ROOT, 'models/fashion-mnist/1/model.onnx'), join(folder, '1/model.onnx'));
  writeFileSync(join(folder, 'config.pbtxt'), 'max_batch_size: 256\noptimization { graph { level: 2 } }\n');
  const upload = await cli(['upload', folder, '--optimize', '--json']);
  assert.deepEqual(jsonOf(upload), [{ name: 'fashion_optimized', ok: true, files: ['config.pbtxt', '1/model.onnx'] }]);
  assert.match(upload.stderr, /fashion_optimized\/1\/model\.onnx: optimized, 941267 → \d+ bytes/);
  const client = createClient({ url: server.url, key: KEY });
  const request = { inputs: [{ name: 'input', shape: [8, 784], datatype: 'FP32', data: reference.fashion_mnist.inputs.slice(0, 8) }], outputs: [{ name: 'probabilities' }] };
  const [original, optimized] = await Promise.all([client.infer('fashion-mnist', request), client.infer('fashion_optimized', request)]);
  const [a, b] = [original, optimized].map((r) => (r.outputs[0]!.data as number[]).flat());
  assert.equal(a.length, b.length);
  a.forEach((p, i) => assert.ok(Math.abs(p - b[i]!) <= 1e-6, `probability ${i}: ${p} vs ${b[i]}`));
});

test('client: inferTensors round-trips binary tensors, equal to the JSON path', async () => {
  const client = createClient({ url: server.url, key: KEY });
  const rows: number[][] = reference.iris.inputs.slice(0, 10);
  const input = { name: 'input', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) };
  const binary = await client.inferTensors('iris', [input], { outputs: ['probabilities', 'label'] });
  const json = await client.infer('iris', { inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });

  const probabilities = binary.outputs.find((o) => o.name === 'probabilities')!;
  assert.equal(probabilities.datatype, 'FP32');
  assert.ok(probabilities.data instanceof Float32Array);
  assert.deepEqual(probabilities.shape, [rows.length, 3]);
  const expected = json.outputs.find((o) => o.name === 'probabilities')!.data as number[];
  assert.equal(probabilities.data.length, expected.length);
  probabilities.data.forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) <= 1e-6, `probabilities[${i}]`));
  const label = binary.outputs.find((o) => o.name === 'label')!;
  assert.ok(label.data instanceof BigInt64Array);
  assert.deepEqual(Array.from(label.data, Number), json.outputs.find((o) => o.name === 'label')!.data);

  // All outputs, binary, without naming them; and the JSON path of inferTensors gives the same arrays.
  const all = await client.inferTensors('iris', [input]);
  const viaJson = await client.inferTensors('iris', [input], { binary: false });
  assert.deepEqual(all.outputs.map((o) => o.name), viaJson.outputs.map((o) => o.name));
  all.outputs.forEach((o, i) => assert.deepEqual(o.data, viaJson.outputs[i]!.data));

  await assert.rejects(client.inferTensors('iris', [{ name: 'input', shape: [1, 3], data: new Float32Array(3) }]), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.match(error.message, /shape \[1, 3\] does not match/);
    return true;
  });
});
