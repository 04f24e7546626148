// Model repository management (Triton's repository extension plus a raw upload route); admins only.
import { Hono } from 'hono';
import { z } from 'zod';
import { requireAdmin } from '../auth';
import { limitBody, modelLimit, optionalJson, requestLimit } from '../http/body';
import { InferenceError, badRequest, notFound } from '../runtime/errors';
import { checkModelName, checkRepositoryFile, checkVersion, type RepositoryFile } from '../runtime/model-repository';
import { parametersSchema } from '../runtime/protocol';
import { dataPlane } from '../serving';

export const indexSchema = z.object({ ready: z.boolean().optional() });
export const loadSchema = z.object({ parameters: parametersSchema.optional() });

function decodeBase64(key: string, content: unknown): Uint8Array {
  if (typeof content !== 'string') throw badRequest(`parameters["${key}"] must be a base64 string`);
  try {
    return Uint8Array.from(atob(content), (ch) => ch.charCodeAt(0));
  } catch {
    throw badRequest(`parameters["${key}"] is not valid base64`);
  }
}

/**
 * The files of a Triton load request: `file:<path>` parameters (base64), and `config` (a JSON string),
 * which stands for the model's config.json. A bare version (`file:2`) means that version's model.onnx.
 */
function loadFiles(parameters: Record<string, unknown>): Map<RepositoryFile, Uint8Array> {
  const files = new Map<RepositoryFile, Uint8Array>();
  for (const [key, content] of Object.entries(parameters)) {
    if (!key.startsWith('file:')) continue;
    const path = key.slice('file:'.length);
    const file = checkRepositoryFile(/^\d+$/.test(path) ? `${checkVersion(path)}/model.onnx` : path);
    const bytes = decodeBase64(key, content);
    if (file.endsWith('model.onnx') && bytes.byteLength === 0) throw badRequest(`parameters["${key}"]: model.onnx is empty`);
    files.set(file, bytes);
  }
  const { config } = parameters;
  if (config !== undefined) {
    if (typeof config !== 'string') throw badRequest('parameters.config must be a JSON string');
    try {
      JSON.parse(config);
    } catch (error) {
      throw badRequest(`parameters.config is not valid JSON: ${(error as Error).message}`);
    }
    files.set('config.json', new TextEncoder().encode(config));
  }
  return files;
}

/** Load failures name the model and say "failed to load", as Triton's clients look for. */
async function failedToLoad<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof InferenceError) || error.status === 409 || error.message.startsWith('failed to load')) throw error;
    throw new InferenceError(error.status, `failed to load '${name}': ${error.message}`);
  }
}

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
    if (bytes.byteLength === 0) throw badRequest('model.onnx is empty');
    await dataPlane(c.env).write(name, new Map<RepositoryFile, Uint8Array>([[`${version}/model.onnx`, bytes]]));
    return c.json({ name, version, state: 'READY' }, 201, { Location: `/v2/models/${name}/versions/${version}` });
  })
  // Triton's load: with files or a config it writes them (each new version proved to load first); then the model serves.
  .post('/models/:name/load', limitBody(modelLimit), async (c) => {
    const name = checkModelName(c.req.param('name'));
    await failedToLoad(name, async () => {
      const { parameters = {} } = await optionalJson(c, loadSchema);
      const files = loadFiles(parameters);
      const plane = dataPlane(c.env);
      if (files.size) await plane.write(name, files);
      else if (!(await plane.has(name))) throw notFound('no model of that name in the repository');
      await plane.setLoaded(name, true);
    });
    return c.json({});
  })
  .post('/models/:name/unload', limitBody(requestLimit), async (c) => {
    await optionalJson(c, loadSchema);
    await dataPlane(c.env).setLoaded(checkModelName(c.req.param('name')), false);
    return c.json({});
  });
