// Dynamic batching over real HTTP against `wrangler dev`: concurrent requests share executions (counted in the
// statistics), and each answer equals the one the same request gets alone.
// Run: node --test e2e/batching.test.ts (Node 22).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startWranglerDev, type DevServer } from '../bench/dev-server.ts';
import { ROOT } from './run-node.ts';

const images: number[][] = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/reference.json'), 'utf8')).fashion_mnist.inputs;
const headers = { Authorization: 'Bearer demo-key-alice', 'Content-Type': 'application/json' };

let server: DevServer;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'edge-batching-'));
  server = await startWranglerDev(join(work, 'state'), 'warn');
}, { timeout: 90_000 });

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function infer(model: string, image: number[]): Promise<unknown> {
  const response = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: image }] }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

interface Stat {
  inference_count: number;
  execution_count: number;
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}
const statsOf = async (model: string): Promise<Stat> =>
  ((await (await fetch(`${server.url}/v2/models/${model}/stats`, { headers })).json()) as { model_stats: Stat[] }).model_stats[0]!;

for (const model of ['fashion-mnist', 'fashion-mnist-int8']) {
  test(`${model}: concurrent requests share executions and get exactly the answers they get alone`, async () => {
    const alone = [];
    for (const image of images) alone.push(await infer(model, image));
    const before = await statsOf(model);
    const shared = await Promise.all(images.map((image) => infer(model, image)));
    const after = await statsOf(model);
    assert.deepEqual(shared, alone);
    const inferences = after.inference_count - before.inference_count;
    const executions = after.execution_count - before.execution_count;
    assert.equal(inferences, images.length);
    assert.ok(executions < inferences, `${executions} executions for ${inferences} concurrent inferences: nothing was batched`);
    // batch_stats accounts for every execution and every inference.
    assert.equal(after.batch_stats.reduce((n, b) => n + b.compute_infer.count, 0), after.execution_count);
    assert.equal(after.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0), after.inference_count);
  });
}
