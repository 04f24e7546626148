// The only module that imports onnxruntime-web: one-time wasm start-up and session creation.
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';

export { ort };
export type OrtSession = ort.InferenceSession;
export type GraphOptimizationLevel = NonNullable<ort.InferenceSession.SessionOptions['graphOptimizationLevel']>;

// A one-node Identity graph (FP32 [1]) used only to bring the wasm backend up.
const WARMUP_MODEL = Uint8Array.from(
  atob('CAg6PAoQCgF4EgF5IghJZGVudGl0eRIGd2FybXVwWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ=='),
  (c) => c.charCodeAt(0),
);

let started: Promise<void> | undefined;
let memory: WebAssembly.Memory | undefined;

/** The size of ORT's wasm heap: it grows when a model or a run needs more, and never shrinks. */
export const wasmHeapBytes = () => memory?.buffer.byteLength ?? 0;

/**
 * Brings the ORT wasm backend up once per isolate; concurrent callers share one start.
 *
 * workerd forbids compiling wasm from bytes, so the bundler precompiles the module. ORT has no
 * hook to accept it: we give ORT a sentinel `wasmBinary` and, only while the backend starts,
 * answer the `WebAssembly.instantiate` call that carries the sentinel with the precompiled module.
 * Start-up runs on a built-in graph so a bad user model can never be the one that fails it;
 * a failed start is forgotten so the next request tries again.
 */
export function startOrt(): Promise<void> {
  started ??= startBackend().catch((error: unknown) => {
    started = undefined;
    throw error;
  });
  return started;
}

async function startBackend(): Promise<void> {
  const sentinel = new ArrayBuffer(0);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = sentinel;
  ort.env.logLevel = 'error';

  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = ((source: unknown, imports?: WebAssembly.Imports) => {
    if (ArrayBuffer.isView(source) && source.buffer === sentinel) {
      return instantiate(ortWasm, imports).then((instance) => {
        // The threaded build imports its memory; others export it.
        const candidates = [...Object.values(instance.exports), ...Object.values(imports ?? {}).flatMap((m) => Object.values(m))];
        memory = candidates.find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
        return { instance, module: ortWasm };
      });
    }
    return instantiate(source as BufferSource, imports);
  }) as typeof WebAssembly.instantiate;
  try {
    const warmup = await ort.InferenceSession.create(WARMUP_MODEL);
    await warmup.release();
  } finally {
    WebAssembly.instantiate = instantiate;
  }
}

let creating: Promise<unknown> = Promise.resolve();

/** Creates a session from ONNX bytes; creations run one at a time, as ORT's wasm heap is shared. */
export function createSession(model: Uint8Array, graphOptimizationLevel: GraphOptimizationLevel = 'all'): Promise<OrtSession> {
  const session = creating.then(async () => {
    await startOrt();
    return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel });
  });
  creating = session.catch(() => undefined);
  return session;
}
