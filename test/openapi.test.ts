// The API document: it matches the Open Inference Protocol's own OpenAPI file, covers every route the
// Worker serves, and real answers (successes and errors) validate against it.
import { Validator, type Schema } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { app } from '../src/app';
import specText from './fixtures/open-inference/open_inference_rest.yaml?raw';
import { call, postJson } from './client';

type Json = Record<string, any>;
const spec = parse(specText) as Json;
const document = async () => (await (await call('/openapi.json', { as: null })).json()) as Json;

/** A schema's shape for comparison: its type, or the component it refers to, with array items resolved the same way. */
function shapeOf(schema: Json | undefined): unknown {
  if (!schema) return undefined;
  if (schema.$ref) return `ref:${String(schema.$ref).split('/').at(-1)}`;
  if (schema.type === 'array') return { array: shapeOf(schema.items) };
  if (schema.anyOf) return { anyOf: schema.anyOf.map(shapeOf).map(String).sort() };
  return schema.type;
}

function compare(name: string, theirs: Json, ours: Json) {
  expect(ours, `${name} is missing`).toBeDefined();
  expect(shapeOf(ours), `${name}: type`).toEqual(shapeOf(theirs));
  expect(Object.keys(ours.properties ?? {}).sort(), `${name}: properties`).toEqual(Object.keys(theirs.properties ?? {}).sort());
  expect([...(ours.required ?? [])].sort(), `${name}: required`).toEqual([...(theirs.required ?? [])].sort());
  for (const [property, schema] of Object.entries<Json>(theirs.properties ?? {})) {
    expect(shapeOf(ours.properties[property]), `${name}.${property}: type`).toEqual(shapeOf(schema));
  }
  if (theirs.items) expect(shapeOf(ours.items), `${name}: items`).toEqual(shapeOf(theirs.items));
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with the bearer scheme, public only for health and docs', async () => {
    const doc = await document();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.security).toEqual([{ bearer: [] }]);
    const publicOps = Object.entries<Json>(doc.paths).flatMap(([path, ops]) => Object.values<Json>(ops).filter((op) => op.security?.length === 0).map(() => path));
    expect(publicOps.sort()).toEqual(['/docs', '/openapi.json', '/v2/health/live', '/v2/health/ready']);
  });

  it("has the Open Inference Protocol's schemas: same properties, same required fields, same types", async () => {
    const ours = (await document()).components.schemas;
    const theirs = spec.components.schemas;
    const same = ['inference_request', 'request_input', 'request_output', 'response_output', 'inference_response', 'tensor_data', 'parameters',
      'metadata_server_response', 'metadata_model_response', 'metadata_tensor'];
    for (const name of same) compare(name, theirs[name], ours[name]);
    // The protocol names one error object per route; every route here answers the same one.
    for (const name of ['metadata_server_error_response', 'metadata_model_error_response', 'inference_error_response']) {
      expect(Object.keys(theirs[name].properties)).toEqual(['error']);
      compare(`${name} (error)`, { ...theirs[name], required: ['error'] }, ours.error);
    }
  });

  it("documents the protocol's routes with its request and response bodies", async () => {
    const doc = await document();
    const toOurs = (path: string) => path.replace('${MODEL_NAME}', '{name}').replace('${MODEL_VERSION}', '{version}').replace(/\/$/, '');
    for (const [path, operations] of Object.entries<Json>(spec.paths)) {
      for (const [method, theirs] of Object.entries<Json>(operations)) {
        if (method === 'parameters') continue;
        const ours = doc.paths[toOurs(path)]?.[method];
        expect(ours, `${method} ${path}`).toBeDefined();
        const refOf = (op: Json, where: (op: Json) => Json | undefined) => where(op)?.content?.['application/json']?.schema?.$ref?.split('/').at(-1);
        expect(refOf(ours, (op) => op.requestBody), `${method} ${path} request`).toBe(refOf(theirs, (op) => op.requestBody));
        for (const [status, response] of Object.entries<Json>(theirs.responses)) {
          // Every status both list has the same body; where the protocol gives none (ready), ours may add one.
          // The protocol allows a 400 for server metadata, which this server never answers.
          if (status === '200') expect(ours.responses[status], `${method} ${path} 200`).toBeDefined();
          const theirRef = refOf(response, (r) => r);
          if (theirRef && ours.responses[status]) expect(refOf(ours.responses[status], (r) => r), `${method} ${path} ${status}`).toBe(theirRef.endsWith('error_response') ? 'error' : theirRef);
        }
      }
    }
  });

  it('documents every route the Worker serves, and no other', async () => {
    const doc = await document();
    const served = new Set(
      app.routes
        .filter((r) => r.method !== 'ALL' || r.path.includes('sharedmemory'))
        .map((r) => `${r.method === 'ALL' ? 'GET' : r.method} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}').replace(/\/$/, '') || '/'}`),
    );
    const documented = new Set(Object.entries<Json>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('validates real answers, successes and errors, against the document', async () => {
    const doc = await document();
    const check = async (response: Response, path: string, method: string) => {
      const body = await response.json();
      const schema = doc.paths[path][method].responses[response.status]?.content?.['application/json']?.schema;
      expect(schema, `${method} ${path} ${response.status} is documented`).toBeDefined();
      const result = new Validator({ ...schema, components: doc.components } as Schema, '2020-12', false).validate(body);
      expect(result.errors, `${method} ${path} ${response.status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
    };
    const iris = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
    await check(await call('/v2'), '/v2', 'get');
    await check(await call('/v2', { as: null }), '/v2', 'get');
    await check(await call('/v2/models/iris'), '/v2/models/{name}', 'get');
    await check(await call('/v2/models/nope'), '/v2/models/{name}', 'get');
    await check(await call('/v2/models/iris/versions/1/ready'), '/v2/models/{name}/versions/{version}/ready', 'get');
    await check(await postJson('/v2/models/iris/infer', iris), '/v2/models/{name}/infer', 'post');
    await check(await postJson('/v2/models/iris/infer', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32' }] }), '/v2/models/{name}/infer', 'post');
    await check(await postJson('/v2/models/iris/infer', { inputs: [] }), '/v2/models/{name}/infer', 'post');
    await check(await postJson('/v2/repository/index', {}), '/v2/repository/index', 'post');
    const created = await postJson('/v2/sessions', { model: 'movielens', context: { ratings: [{ item_id: 1, rating: 5 }] } });
    const { id } = (await created.clone().json()) as { id: string };
    await check(created, '/v2/sessions', 'post');
    await check(await postJson(`/v2/sessions/${id}/recommend`, { k: 3 }), '/v2/sessions/{id}/recommend', 'post');
    await check(await postJson(`/v2/sessions/${id}/recommend`, { k: 0 }), '/v2/sessions/{id}/recommend', 'post');
    await check(await call(`/v2/sessions/${id}`), '/v2/sessions/{id}', 'get');
    await check(await call('/v2/sessions'), '/v2/sessions', 'get');
    const upload = await call('/v2/batches/inbox/iris/openapi.csv', { method: 'PUT', body: 'id,f1,f2,f3,f4\na,5.1,3.5,1.4,0.2\n' });
    const job = (await upload.clone().json()) as { id: string };
    await check(upload, '/v2/batches/inbox/{model}/{file}', 'put');
    await check(await call(`/v2/batches/${job.id}`), '/v2/batches/{id}', 'get');
    await check(await call('/v2/batches'), '/v2/batches', 'get');
    await check(await postJson('/v2/batches', { model: 'iris', input_key: 'inbox/bob/x.csv' }), '/v2/batches', 'post');
  });

  it('serves the interactive reference from its own assets', async () => {
    const page = await call('/docs', { as: null });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/openapi.json');
    expect(html).toContain('/app/scalar.js');
    expect(html).not.toContain('cdn.jsdelivr.net');
  });
});
