// Model repository management (Triton's repository extension plus a raw upload route); admins only.
import { Hono } from 'hono';
import { z } from 'zod';
import { requireAdmin } from '../auth';
import { badRequest } from '../runtime/errors';
import { checkModelName, checkVersion, parseModelConfig } from '../runtime/model-repository';
import { parametersSchema, parseJson } from '../runtime/protocol';
import { dataPlane } from '../serving';
import { limitBody, modelLimit, optionalJson, requestLimit } from '../http/body';

const indexSchema = z.object({ ready: z.boolean().optional() });
const loadSchema = z.object({ parameters: parametersSchema.optional() });
const FILE_PARAMETER = /^file:([^/]+)\/model\.onnx$/;

export const repositoryRoutes = new Hono<{ Bindings: Env }>()
  .post('/index', limitBody(requestLimit), async (c) => {
    const { ready } = await optionalJson(c, indexSchema);
    const index = await dataPlane(c.env).index();
    return c.json(ready ? index.filter((m) => m.state === 'READY') : index);
  })
  .use(requireAdmin())
  .put('/models/:name/versions/:version/model.onnx', limitBody(modelLimit), async (c) => {
    const name = checkModelName(c.req.param('name'));
    const version = checkVersion(c.req.param('version'));
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const stored = await upload(c.env, name, version, bytes, undefined);
    return c.json({ name, version: stored, state: 'READY' }, 201, { Location: `/v2/models/${name}/versions/${stored}` });
  })
  // Triton's load: parameters.config (JSON string) and "file:<version>/model.onnx" (base64) upload a version.
  .post('/models/:name/load', limitBody(modelLimit), async (c) => {
    const name = checkModelName(c.req.param('name'));
    const { parameters = {} } = await optionalJson(c, loadSchema);
    const files = Object.entries(parameters).filter(([key]) => key.startsWith('file:'));
    const config = parameters.config;
    if (config !== undefined && typeof config !== 'string') throw badRequest('parameters.config must be a JSON string');
    if (files.length > 1) throw badRequest('upload one "file:<version>/model.onnx" parameter per load request');
    const plane = dataPlane(c.env);
    if (files.length === 0) {
      if (config !== undefined) throw badRequest('parameters.config needs a "file:<version>/model.onnx" parameter beside it');
      await plane.setLoaded(name, true);
      return c.json({});
    }
    const [key, content] = files[0]!;
    const version = checkVersion(FILE_PARAMETER.exec(key)?.[1] ?? key);
    if (typeof content !== 'string') throw badRequest(`parameters["${key}"] must be a base64 string`);
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(content), (ch) => ch.charCodeAt(0));
    } catch {
      throw badRequest(`parameters["${key}"] is not valid base64`);
    }
    const parsedConfig = config === undefined ? undefined : parseModelConfig(parseJson(config, 'parameters.config'), 'parameters.config');
    await upload(c.env, name, version, bytes, parsedConfig);
    await plane.setLoaded(name, true);
    return c.json({});
  })
  .post('/models/:name/unload', limitBody(requestLimit), async (c) => {
    await optionalJson(c, loadSchema);
    await dataPlane(c.env).setLoaded(checkModelName(c.req.param('name')), false);
    return c.json({});
  });

function upload(env: Env, name: string, version: string, bytes: Uint8Array, config: ReturnType<typeof parseModelConfig> | undefined) {
  if (bytes.byteLength === 0) throw badRequest('model.onnx is empty');
  return dataPlane(env).upload(name, version, bytes, config);
}
