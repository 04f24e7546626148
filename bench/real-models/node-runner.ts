// ONNX Runtime in plain Node, one thread, no HTTP: onnxruntime-node (native) and onnxruntime-web (wasm, the
// Worker's engine and so its ceiling). Forked by bench/real-models/measure.ts with the V8 flags under test; reads
// the models and inputs that bench/real-models/build.ts laid out and answers over IPC (advanced serialisation).
import { readFileSync } from 'node:fs';
import { percentile } from '../stats.ts';

export interface RunnerModel {
  name: string;
  /** ONNX file and float32 input bytes, absolute paths. */
  file: string;
  inputFile: string;
  inputName: string;
  shape: number[];
  output: string;
  runs: number;
  warmup: number;
}

/** Warm-up lasts at least this long as well as `warmup` runs: V8 tiers hot wasm functions up from Liftoff to TurboFan in the background, by time as much as by count. */
export const WARMUP_SECONDS = 2;

export interface RunnerRequest {
  engine: 'native' | 'wasm';
  /** onnxruntime-web entry for the wasm engine: 'onnxruntime-web/wasm' (the Worker's) or 'onnxruntime-web/all' (JSEP build). */
  entry?: string;
  models: RunnerModel[];
  /** Time every run from the first one on, without warm-up (a fresh process's tier-up curve). */
  curve?: boolean;
  /** Instead: time each model at these batch sizes (its input repeated along the first dimension), `runs` runs each. */
  batchSizes?: number[];
}

export interface Timing {
  p50: number;
  p99: number;
  mean: number;
  samples: number;
}

export interface RunnerModelResult {
  name: string;
  createMs: number;
  /** Wasm heap after the session was created (wasm engine only). */
  heapBytes?: number;
  run: Timing;
  /** Wasm heap after the timed runs (wasm engine only). */
  heapAfterRunsBytes?: number;
  /** Every run's time, first run included (curve requests only). */
  times?: number[];
  /** p50 run time by batch size (batch-size requests only). */
  batches?: { batch: number; ms: number; msPerRow: number }[];
  output: Float32Array;
  dims: number[];
}

export interface RunnerResult {
  engine: 'native' | 'wasm';
  /** Start-up of the wasm backend on a one-node graph (wasm engine only). */
  startMs?: number;
  heapAfterStartBytes?: number;
  models: RunnerModelResult[];
  cpuSeconds: number;
  wallSeconds: number;
}

// The same one-node Identity graph (FP32 [1]) src/runtime/ort.ts starts the backend with.
const WARMUP_MODEL = Buffer.from('CAg6PAoQCgF4EgF5IghJZGVudGl0eRIGd2FybXVwWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ==', 'base64');

export function timingOf(values: number[]): Timing {
  return { p50: percentile(values, 50), p99: percentile(values, 99), mean: values.reduce((a, b) => a + b, 0) / values.length, samples: values.length };
}

interface Session {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[]; dispose?(): void }>>;
}

async function measure(request: RunnerRequest): Promise<RunnerResult> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let memory: WebAssembly.Memory | undefined;
  let ort: typeof import('onnxruntime-node') | typeof import('onnxruntime-web');
  let options: Record<string, unknown>;
  const result: RunnerResult = { engine: request.engine, models: [], cpuSeconds: 0, wallSeconds: 0 };
  if (request.engine === 'native') {
    ort = await import('onnxruntime-node');
    options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  } else {
    // Find ORT's wasm memory as src/runtime/ort.ts does: the threaded build imports it, others export it.
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = (async (source: unknown, imports?: WebAssembly.Imports) => {
      const made = (await instantiate(source as BufferSource, imports)) as unknown as { instance: WebAssembly.Instance };
      const instance = made.instance ?? (made as unknown as WebAssembly.Instance);
      const candidates = [...Object.values(instance.exports), ...Object.values(imports ?? {}).flatMap((m) => Object.values(m))];
      memory ??= candidates.find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
      return made;
    }) as unknown as typeof WebAssembly.instantiate;
    ort = (await import(request.entry ?? 'onnxruntime-web/wasm')) as typeof import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
    const started = performance.now();
    const warmup = await ort.InferenceSession.create(WARMUP_MODEL);
    result.startMs = performance.now() - started;
    await warmup.release();
    result.heapAfterStartBytes = memory?.buffer.byteLength;
  }
  for (const model of request.models) {
    const bytes = readFileSync(model.file);
    const inputBytes = readFileSync(model.inputFile);
    const input = new Float32Array(inputBytes.buffer, inputBytes.byteOffset, inputBytes.byteLength / 4);
    const created = performance.now();
    const session = (await ort.InferenceSession.create(bytes, options as never)) as unknown as Session;
    const createMs = performance.now() - created;
    const heapBytes = memory?.buffer.byteLength;
    const runOnce = async (keep = false) => {
      const outputs = await session.run({ [model.inputName]: new ort.Tensor('float32', input, model.shape) });
      for (const [name, tensor] of Object.entries(outputs)) if (!keep || name !== model.output) tensor.dispose?.();
      return outputs[model.output]!;
    };
    if (request.batchSizes) {
      const batches = [];
      for (const batch of request.batchSizes) {
        const data = new Float32Array(input.length * batch);
        for (let i = 0; i < batch; i++) data.set(input, i * input.length);
        const shape = [model.shape[0]! * batch, ...model.shape.slice(1)];
        const once = async () => {
          for (const tensor of Object.values(await session.run({ [model.inputName]: new ort.Tensor('float32', data, shape) }))) tensor.dispose?.();
        };
        const warm = performance.now();
        for (let i = 0; i < model.warmup || performance.now() - warm < WARMUP_SECONDS * 1000; i++) await once();
        const times: number[] = [];
        for (let i = 0; i < model.runs; i++) {
          const t = performance.now();
          await once();
          times.push(performance.now() - t);
        }
        const ms = percentile(times, 50);
        batches.push({ batch, ms, msPerRow: ms / batch });
      }
      result.models.push({ name: model.name, createMs, heapBytes, run: timingOf([]), output: new Float32Array(0), dims: [], batches });
      continue;
    }
    if (request.curve) {
      const times: number[] = [];
      for (let i = 0; i < model.runs; i++) {
        const t = performance.now();
        await runOnce();
        times.push(performance.now() - t);
      }
      result.models.push({ name: model.name, createMs, heapBytes, run: timingOf(times), output: new Float32Array(0), dims: [], times });
      continue;
    }
    const first = await runOnce(true);
    const output = Float32Array.from(first.data as Float32Array);
    const dims = [...first.dims];
    first.dispose?.();
    // Native code needs no warming beyond the count; wasm also needs time for V8 to optimise it.
    const warmSeconds = request.engine === 'wasm' ? WARMUP_SECONDS : 0;
    const warm = performance.now();
    for (let i = 0; i < model.warmup || performance.now() - warm < warmSeconds * 1000; i++) await runOnce();
    const times: number[] = [];
    for (let i = 0; i < model.runs; i++) {
      const t = performance.now();
      await runOnce();
      times.push(performance.now() - t);
    }
    // Sessions stay loaded, as in the bare Worker, so the heap figures follow the same sequence there and here.
    result.models.push({ name: model.name, createMs, heapBytes, run: timingOf(times), heapAfterRunsBytes: memory?.buffer.byteLength, output, dims });
  }
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  result.wallSeconds = (performance.now() - wallBefore) / 1000;
  return result;
}

if (process.argv.includes('--child')) {
  process.once('message', (request) => {
    measure(request as RunnerRequest).then(
      (result) => process.send!(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
