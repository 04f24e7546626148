// The "bare Worker" of the real-model benchmark: the same ORT start-up and session creation as the server
// (src/runtime/ort.ts), the same bundled models, and inputs bundled with it, so a request carries no body and the
// Worker does nothing but run ONNX Runtime. bench/real-models/build.ts generates the entry that passes it the models.
//
//   GET /v2/health/live        liveness (what bench/servers.ts polls)
//   GET /noop                  an empty answer: the floor of HTTP plus runtime
//   GET /start                 starts ORT's wasm backend; answers the wasm heap in bytes
//   GET /load?model=m          creates the session (ORT already started); answers the wasm heap after it
//   GET /run?model=m&runs=n    n runs one after the other on the bundled input; answers the output's dims
//                              (&batch=b: the input repeated b times along its first dimension)
//   GET /output?model=m        one run; answers the output tensor's bytes (to compare with the other targets)
import { createSession, ort, startOrt, wasmHeapBytes, type OrtSession } from '../../src/runtime/ort.ts';

export interface BareModel {
  model: ArrayBuffer;
  /** The input tensor's float32 bytes. */
  input: ArrayBuffer;
  inputName: string;
  shape: number[];
  output: string;
}

export function bareWorker(models: Record<string, BareModel>): ExportedHandler {
  const sessions = new Map<string, OrtSession>();
  const batches = new Map<string, Float32Array>();

  /** The bundled input, or (batch > 1) a copy of it repeated along the first dimension, made once. */
  function inputOf(name: string, batch: number): Float32Array {
    const one = new Float32Array(models[name]!.input);
    if (batch === 1) return one;
    const key = `${name}|${batch}`;
    let data = batches.get(key);
    if (!data) {
      data = new Float32Array(one.length * batch);
      for (let i = 0; i < batch; i++) data.set(one, i * one.length);
      batches.set(key, data);
    }
    return data;
  }

  async function runOnce(name: string, batch = 1): Promise<ort.Tensor> {
    const model = models[name]!;
    const session = sessions.get(name);
    if (!session) throw new Error(`model '${name}' is not loaded`);
    const shape = [model.shape[0]! * batch, ...model.shape.slice(1)];
    const outputs = await session.run({ [model.inputName]: new ort.Tensor('float32', inputOf(name, batch), shape) });
    for (const [key, tensor] of Object.entries(outputs)) if (key !== model.output) tensor.dispose();
    return outputs[model.output]!;
  }

  return {
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const name = url.searchParams.get('model') ?? '';
      if (url.pathname !== '/v2/health/live' && url.pathname !== '/noop' && url.pathname !== '/start' && !models[name]) {
        return new Response(`unknown model '${name}'`, { status: 404 });
      }
      try {
        switch (url.pathname) {
          case '/v2/health/live':
            return Response.json({ live: true });
          case '/noop':
            return new Response('ok');
          case '/start':
            await startOrt();
            return Response.json({ heap: wasmHeapBytes() });
          case '/load': {
            if (!sessions.has(name)) sessions.set(name, await createSession(new Uint8Array(models[name]!.model)));
            return Response.json({ heap: wasmHeapBytes() });
          }
          case '/run': {
            const runs = Number(url.searchParams.get('runs') ?? 1);
            const batch = Number(url.searchParams.get('batch') ?? 1);
            let dims: readonly number[] = [];
            for (let i = 0; i < runs; i++) {
              const output = await runOnce(name, batch);
              dims = output.dims;
              output.dispose();
            }
            return Response.json({ dims });
          }
          case '/output': {
            const output = await runOnce(name);
            const data = output.data as Float32Array;
            const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
            const dims = output.dims.join(',');
            output.dispose();
            return new Response(body, { headers: { 'output-dims': dims } });
          }
        }
        return new Response('not found', { status: 404 });
      } catch (error) {
        return new Response(String(error), { status: 500 });
      }
    },
  };
}
