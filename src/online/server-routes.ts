// Server health and metadata (Open Inference Protocol).
import { Hono } from 'hono';
import { badRequest } from '../runtime/errors';
import { dataPlane } from '../serving';

const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository', 'model_configuration', 'parameters', 'sequence', 'statistics'];

/** Liveness and readiness answer without a key, as orchestrator probes do. */
export const healthRoutes = new Hono<{ Bindings: Env }>()
  .get('/health/live', (c) => c.json({ live: true }))
  .get('/health/ready', async (c) => {
    // Ready once ONNX Runtime is up in this isolate: the probe also warms it.
    const ready = await dataPlane(c.env).serverReady();
    return c.json({ ready }, ready ? 200 : 503);
  });

/** Triton's shared-memory extensions need memory shared with the client's host: a Worker has none to share. */
const noSharedMemory = (kind: string) => () => {
  throw badRequest(`${kind} shared memory is not supported by this server: send tensors in the request body (JSON or the binary tensor extension)`);
};

export const serverRoutes = new Hono<{ Bindings: Env }>()
  .get('/', (c) => c.json({ name: c.env.SERVER_NAME, version: c.env.SERVER_VERSION, extensions: EXTENSIONS }))
  .all('/systemsharedmemory/*', noSharedMemory('system'))
  .all('/cudasharedmemory/*', noSharedMemory('CUDA'));
