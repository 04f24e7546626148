// ONNX Runtime alone, no HTTP: session.run time of the native build (onnxruntime-node) and of the wasm build
// the Worker ships (onnxruntime-web), both single-threaded, on the benchmark's own inputs. Runs as a child process.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SNAPSHOT } from './project.ts';
import { benchRequests } from './requests.ts';
import { median } from './stats.ts';

export interface OrtMicroResult {
  model: string;
  nativeMs: number;
  wasmMs: number;
}

const WARMUP = 200;
const RUNS = 2000;

export function measureOrtAlone(): Promise<OrtMicroResult[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: OrtMicroResult[] | undefined;
    child.once('message', (message) => {
      result = message as OrtMicroResult[];
    });
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`ORT micro-benchmark exited with code ${code}`))));
  });
}

interface Runner {
  run(data: Float32Array, shape: number[]): Promise<unknown>;
}

async function timeRuns(runner: Runner, data: Float32Array, shape: number[]): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await runner.run(data, shape);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await runner.run(data, shape);
    times.push(performance.now() - started);
  }
  return median(times);
}

async function measure(): Promise<OrtMicroResult[]> {
  const native = await import('onnxruntime-node');
  const wasm = await import('onnxruntime-web/wasm');
  wasm.env.wasm.numThreads = 1;
  wasm.env.wasm.proxy = false;
  const results: OrtMicroResult[] = [];
  for (const request of benchRequests()) {
    const bytes = readFileSync(join(SNAPSHOT, 'models', request.model, '1', 'model.onnx'));
    const input = (JSON.parse(request.body) as { inputs: { shape: number[]; data: number[] }[] }).inputs[0]!;
    const data = Float32Array.from(input.data);
    const nativeSession = await native.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const wasmSession = await wasm.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const nativeMs = await timeRuns({ run: (d, s) => nativeSession.run({ input: new native.Tensor('float32', d, s) }) }, data, input.shape);
    const wasmMs = await timeRuns({ run: (d, s) => wasmSession.run({ input: new wasm.Tensor('float32', d, s) }) }, data, input.shape);
    results.push({ model: request.model, nativeMs, wasmMs });
  }
  return results;
}

if (process.argv.includes('--child')) {
  measure().then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
