// Per-model routes: metadata, readiness, configuration and inference (Open Inference Protocol).
import { Hono, type Context } from 'hono';
import { infer } from '../runtime/inference';
import type { LoadedModel } from '../runtime/loaded-model';
import { checkVersion, type ModelVersion } from '../runtime/model-repository';
import type { ModelMetadata } from '../runtime/protocol';
import { runtimeFor } from '../runtime/runtime';
import { decodeRequestBody, encodeResponseBody, HEADER_LENGTH } from '../runtime/binary-body';
import { runSequence, sequenceFlags } from '../sessions/sequence';
import { limitBody, readBody, requestLimit } from './body';
import { tritonConfig } from './triton-config';

type Ctx = Context<{ Bindings: Env }>;

function resolve(c: Ctx): Promise<ModelVersion> {
  return runtimeFor(c.env).repository.resolve(c.req.param('name')!, checkVersion(c.req.param('version')));
}

function metadata(model: LoadedModel, versions: string[]): ModelMetadata {
  return { name: model.name, versions, platform: 'onnx_onnxv1', inputs: model.inputs, outputs: model.outputs };
}

/** Registers a handler on both the latest-version path and the pinned `/versions/:version` path. */
function both(app: Hono<{ Bindings: Env }>, method: 'get' | 'post', suffix: string, handler: (c: Ctx) => Promise<Response>) {
  app[method](`/:name${suffix}`, handler);
  app[method](`/:name/versions/:version${suffix}`, handler);
}

export const modelRoutes = new Hono<{ Bindings: Env }>();

both(modelRoutes, 'get', '', async (c) => {
  const { repository, models } = runtimeFor(c.env);
  const version = await resolve(c);
  const model = await models.load(version);
  return c.json(metadata(model, await repository.versions(version.name)), 200, { 'Model-Version': version.version });
});

both(modelRoutes, 'get', '/ready', async (c) => {
  const version = await resolve(c);
  const ready = await runtimeFor(c.env).models.load(version).then(
    () => true,
    () => false,
  );
  return c.json({ name: version.name, ready }, 200, { 'Model-Version': version.version });
});

both(modelRoutes, 'get', '/config', async (c) => {
  const version = await resolve(c);
  const model = await runtimeFor(c.env).models.load(version);
  return c.json(tritonConfig(model), 200, { 'Model-Version': version.version });
});

modelRoutes.use('/:name/infer', limitBody(requestLimit));
modelRoutes.use('/:name/versions/:version/infer', limitBody(requestLimit));

both(modelRoutes, 'post', '/infer', async (c) => {
  const started = performance.now();
  const { models } = runtimeFor(c.env);
  const version = await resolve(c);
  const body = await readBody(c, requestLimit(c.env));
  const decoded = await decodeRequestBody(body, c.req.header(HEADER_LENGTH), async () => (await models.load(version)).inputs);
  const flags = sequenceFlags(decoded.request.parameters);
  const reply = flags
    ? await runSequence(c.env, c.var.consumer.id, version.name, c.req.param('version'), flags, decoded)
    : await models.with(version, async (model) => {
        const result = await infer(model, decoded.request, decoded.binary);
        return { ...encodeResponseBody(result), version: version.version, inferMs: result.inferMs };
      });
  const rest = performance.now() - started - reply.inferMs;
  return c.body(reply.body, 200, {
    ...reply.headers,
    'Model-Version': reply.version,
    'Server-Timing': `infer;dur=${reply.inferMs.toFixed(3)}, rest;dur=${Math.max(0, rest).toFixed(3)}`,
  });
});
