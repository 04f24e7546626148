// Where a Worker's CPU time goes under load: samples V8 through the inspector while autocannon drives /infer.
// Usage: node bench/profile.ts <http port> <inspector port> [iris|fashion-mnist]
// (start `workerd serve ... --inspector-addr=127.0.0.1:<inspector port>` or `wrangler dev --inspector-port` first)
import { spawn } from 'node:child_process';
import { connectInspector } from './inspector.ts';

const [port, inspector, model = 'iris'] = process.argv.slice(2);
if (!port || !inspector) throw new Error('usage: node bench/profile.ts <http port> <inspector port> [model]');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const { send, close } = await connectInspector(Number(inspector));

const size = model === 'iris' ? 4 : 784;
const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, size], datatype: 'FP32', data: Array.from({ length: size }, (_, i) => i % 7) }] });
await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 100 });
await send('Profiler.start');
await new Promise((resolve) => {
  const load = spawn(
    'npx',
    ['autocannon', '-c', '8', '-d', '6', '-m', 'POST', '-H', 'Authorization=Bearer demo-key-alice', '-b', body, `http://127.0.0.1:${port}/v2/models/${model}/infer`],
    { stdio: 'ignore' },
  );
  load.on('exit', resolve);
});
const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[] } };
close();

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (const sample of profile.samples) {
  const { functionName, url, lineNumber } = nodes.get(sample)!.callFrame;
  const where = url ? ` ${url.split('/').pop()}:${lineNumber}` : '';
  const key = `${functionName || '(anonymous)'}${where}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
console.log(`self time of ${profile.samples.length} samples, ${model}, 8 connections`);
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${((100 * count) / profile.samples.length).toFixed(1).padStart(5)} %  ${key}`);
}
