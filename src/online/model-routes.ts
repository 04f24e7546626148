// Per-model routes: metadata, readiness, configuration and inference (Open Inference Protocol).
import { Hono, type Context } from 'hono';
import { limitBody, readBody, requestLimit } from '../http/body';
import { decodeRequestBody, encodeResponseBody, HEADER_LENGTH, type DecodedBody } from '../runtime/binary-body';
import type { InferenceResult } from '../runtime/inference';
import { checkVersion } from '../runtime/model-repository';
import { sequenceFlags, type SequenceFlags } from '../runtime/sequence-flags';
import { dataPlane, modelStats } from '../serving';

type Ctx = Context<{ Bindings: Env }>;

/** Where a request that names a sequence goes: the sessions pattern provides it, `index.ts` passes it in. */
export type SequenceRunner = (
  env: Env,
  call: { consumer: string; model: string; version?: string; flags: SequenceFlags; decoded: DecodedBody },
) => Promise<InferenceResult>;

const target = (c: Ctx) => [c.req.param('name')!, checkVersion(c.req.param('version'))] as const;

/** Registers a handler on both the latest-version path and the pinned `/versions/:version` path. */
function both(app: Hono<{ Bindings: Env }>, method: 'get' | 'post', suffix: string, handler: (c: Ctx) => Promise<Response>) {
  app[method](`/:name${suffix}`, handler);
  app[method](`/:name/versions/:version${suffix}`, handler);
}

export function modelRoutes(runSequence: SequenceRunner) {
  const app = new Hono<{ Bindings: Env }>();

  // Triton's statistics extension; registered before `/:name` so that `stats` is never read as a model name.
  app.get('/stats', async (c) => c.json(await modelStats(c.env)));
  both(app, 'get', '/stats', async (c) => c.json(await modelStats(c.env, ...target(c))));

  both(app, 'get', '', async (c) => {
    const { version, metadata } = await dataPlane(c.env).metadata(...target(c));
    return c.json(metadata, 200, { 'Model-Version': version });
  });

  both(app, 'get', '/ready', async (c) => {
    const [name] = target(c);
    const { version, ready } = await dataPlane(c.env).ready(...target(c));
    // The status is the answer (200 ready, 4xx not), as the protocol says and clients check.
    return c.json({ name, ready }, ready ? 200 : 400, { 'Model-Version': version });
  });

  both(app, 'get', '/config', async (c) => {
    const { version, config } = await dataPlane(c.env).config(...target(c));
    return c.json(config, 200, { 'Model-Version': version });
  });

  app.use('/:name/infer', limitBody(requestLimit));
  app.use('/:name/versions/:version/infer', limitBody(requestLimit));

  both(app, 'post', '/infer', async (c) => {
    const started = performance.now();
    const [name, version] = target(c);
    const plane = dataPlane(c.env);
    // Counted from before the body is read, so the dynamic batcher knows who may still join a batch.
    const result = await plane.arriving(name, async () => {
      const body = await readBody(c, requestLimit(c.env));
      return plane.hold(name, version, async (model) => {
        const decoded = await decodeRequestBody(body, c.req.header(HEADER_LENGTH), async () => model.inputs);
        const flags = sequenceFlags(decoded.request.parameters);
        if (!flags) return model.infer(decoded.request, decoded.binary);
        return runSequence(c.env, { consumer: c.var.consumer.id, model: model.name, version, flags, decoded });
      });
    });
    const { body: encoded, headers } = encodeResponseBody(result);
    const rest = performance.now() - started - result.inferMs - result.queueMs;
    return c.body(encoded, 200, {
      ...headers,
      'Model-Version': result.response.model_version!,
      'Server-Timing': `queue;dur=${result.queueMs.toFixed(3)}, infer;dur=${result.inferMs.toFixed(3)}, rest;dur=${Math.max(0, rest).toFixed(3)}`,
    });
  });

  return app;
}
