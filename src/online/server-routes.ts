// Server health and metadata (Open Inference Protocol).
import { Hono } from 'hono';
import { dataPlane } from '../serving';

const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository', 'model_configuration', 'parameters', 'sequence'];

/** Liveness and readiness answer without a key, as orchestrator probes do. */
export const healthRoutes = new Hono<{ Bindings: Env }>()
  .get('/health/live', (c) => c.json({ live: true }))
  .get('/health/ready', async (c) => {
    // Ready once ONNX Runtime is up in this isolate: the probe also warms it.
    const ready = await dataPlane(c.env).serverReady();
    return c.json({ ready }, ready ? 200 : 503);
  });

export const serverRoutes = new Hono<{ Bindings: Env }>().get('/', (c) =>
  c.json({ name: 'edge-inference', version: c.env.SERVER_VERSION, extensions: EXTENSIONS }),
);
