// The OpenAPI 3.1 document, generated from the zod schemas that validate requests and type answers.
// Inference bodies keep the protocol's own names (inference_request, response_output, ...) so that
// the document reads side by side with the Open Inference Protocol's.
import { z } from 'zod';
import { createSchema as batchCreateSchema, listSchema as batchListSchema, uploadQuerySchema } from '../batch/batch-routes';
import { jobStatusSchema } from '../batch/job-types';
import { createConsumerSchema } from '../consumers/consumer-routes';
import { consumerListingSchema } from '../consumers/consumers-object';
import { indexSchema, loadSchema } from '../online/repository-routes';
import {
  errorSchema,
  inferenceRequestSchema,
  inferenceResponseSchema,
  modelMetadataSchema,
  parametersSchema,
  requestInputSchema,
  requestOutputSchema,
  responseOutputSchema,
  serverMetadataSchema,
  tensorData,
  tensorMetadataSchema,
} from '../runtime/protocol';
import { ticketSchema } from '../sessions/sequence-stream-routes';
import { createSchema as sessionCreateSchema, recommendSchema } from '../sessions/session-routes';
import { answerSchema, feedbackSchema, sessionListingSchema, sessionSummarySchema } from '../sessions/session-types';

type Json = Record<string, unknown>;

/** In a JSON body every tensor carries its data; only the binary extension moves it out of the JSON. */
const jsonInput = requestInputSchema.required({ data: true });
const jsonOutput = responseOutputSchema.required({ data: true });


const COMPONENTS: [string, z.ZodType][] = [
  ['parameters', parametersSchema],
  ['tensor_data', tensorData],
  ['request_input', jsonInput],
  ['request_output', requestOutputSchema],
  ['inference_request', inferenceRequestSchema.extend({ inputs: z.array(jsonInput).min(1) })],
  ['response_output', jsonOutput],
  ['inference_response', inferenceResponseSchema.extend({ outputs: z.array(jsonOutput) })],
  ['metadata_tensor', tensorMetadataSchema],
  ['metadata_model_response', modelMetadataSchema],
  ['metadata_server_response', serverMetadataSchema],
  ['error', errorSchema],
  ['model_ready', z.object({ name: z.string(), ready: z.boolean() })],
  ['repository_index_request', indexSchema],
  ['repository_index', z.array(z.object({ name: z.string(), version: z.string(), state: z.enum(['READY', 'UNAVAILABLE']), reason: z.string() }))],
  ['repository_load_request', loadSchema],
  ['session_create', sessionCreateSchema],
  ['session_summary', sessionSummarySchema],
  ['session_list', z.object({ sessions: z.array(sessionListingSchema) })],
  ['recommend_request', recommendSchema],
  ['recommendation', answerSchema],
  ['feedback', feedbackSchema],
  ['batch_create', batchCreateSchema],
  ['batch_status', jobStatusSchema],
  ['batch_list', z.object({ jobs: z.array(jobStatusSchema), cursor: z.string().optional() })],
  ['batch_upload', jobStatusSchema.extend({ size: z.int() })],
  ['consumer_create', createConsumerSchema],
  ['consumer', consumerListingSchema],
  ['consumer_created', consumerListingSchema.extend({ key: z.string().describe('The consumer key: shown once, only its hash is stored') })],
  ['consumer_list', z.object({ consumers: z.array(consumerListingSchema) })],
  ['sequence_ticket', ticketSchema],
];

/** Component schemas by name, as JSON Schema 2020-12 (OpenAPI 3.1's dialect). Request bodies are described as sent (defaults optional). */
function components(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of COMPONENTS) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ zodSchema, jsonSchema }) => {
      // The protocol's tensor_data: nested arrays of numbers, strings and booleans.
      if (zodSchema === tensorData) {
        Object.assign(jsonSchema, { type: 'array', items: { anyOf: [{ $ref: '#/components/schemas/tensor_data' }, { type: 'number' }, { type: 'string' }, { type: 'boolean' }] } });
      }
    },
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema, $id, ...schema }]) => [id, schema as Json]));
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const jsonBody = (id: string, required = true) => ({ required, content: { 'application/json': { schema: ref(id) } } });
const STATUS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad request: the message names the field',
  401: 'Missing or unknown key',
  403: 'The consumer may not do this',
  404: 'Not found (or owned by another consumer)',
  409: 'Conflict with the current state',
  411: 'Content-Length required',
  413: 'Body over the size limit (also once decompressed)',
  429: "Over the consumer's tier limit (inference calls a minute, open sessions, active jobs); see Retry-After",
  415: 'Unsupported Content-Encoding',
  503: 'Not ready',
};
const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [code, { description: STATUS[code], content: { 'application/json': { schema: ref('error') } } }]));
const ok = (id: string | null, code = 200, headers?: Json) => ({
  [code]: { description: STATUS[code], ...(id ? { content: { 'application/json': { schema: ref(id) } } } : {}), ...(headers ? { headers } : {}) },
});
const param = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const MODEL = param('name', 'Model name');
const VERSION = param('version', 'Model version (a positive integer); without it the server picks by the model\'s version policy');
const SESSION = param('id', 'Session id (32 hex)');
const JOB = param('id', 'Batch job id (32 hex)');
const MODEL_VERSION_HEADER = { 'Model-Version': { schema: { type: 'string' }, description: 'The version that answered' } };
const PUBLIC = { security: [] };
const PARTS = {
  description: 'JSON Lines of the chunks scored, in input order',
  headers: {
    'X-Partial': { schema: { type: 'string', enum: ['true', 'false'] }, description: 'true when the job failed or was cancelled: only the chunks it scored' },
    'X-Job-State': { schema: { type: 'string' }, description: 'succeeded, failed or cancelled' },
  },
  content: { 'application/x-ndjson': { schema: { type: 'string' } } },
};

/** Query parameters from a zod object schema. */
function queryParameters(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties).map(([name, property]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: property }));
}

/** An operation on the model's latest path and on its pinned `/versions/{version}` path. */
function perModel(suffix: string, method: string, operation: Json): Record<string, Json> {
  return {
    [`/v2/models/{name}${suffix}`]: { [method]: { ...operation, parameters: [MODEL] } },
    [`/v2/models/{name}/versions/{version}${suffix}`]: { [method]: { ...operation, operationId: `${operation.operationId}-version`, parameters: [MODEL, VERSION] } },
  };
}

const INFER_DESCRIPTION = `Open Inference Protocol inference. With Triton's binary tensor data extension the body is a JSON header of
\`Inference-Header-Content-Length\` bytes followed by the raw tensors (\`parameters.binary_data_size\` on each input); outputs asked with
\`binary_data: true\` come back the same way. Triton's classification extension (\`parameters.classification: k\` on an output) and its
sequence extension (\`parameters.sequence_id\`, \`sequence_start\`, \`sequence_end\`) are supported. Bodies may be sent with
\`Content-Encoding: gzip\` or \`deflate\`; the size limit holds for the decompressed bytes.`;

const SEQUENCE = param('sequence_id', 'Sequence id: a string of 1-128 characters (a path cannot carry integer ids; they stay on /infer)');

const STREAM_DESCRIPTION = `Drives one sequence over this WebSocket; no key: the ticket from \`POST .../ticket\` authenticates, once, within 60 s,
as \`?ticket=\` or as a \`Sec-WebSocket-Protocol\` entry \`ticket.<ticket>\` (the answer names that entry). Messages, client to server:
a binary message is one chunk, the raw little-endian bytes of the model's one streamed input (its shape from the model or the start message,
one free dimension filled from the size; at most 1 MiB); text \`{"type": "start", "inputs"?: [constant tensors, JSON], "outputs"?: [names],
"shape"?: [dims]}\` before the first chunk (answered \`{"type": "ready", ...}\`; silero-vad needs \`sr\` there); \`{"type": "end"}\`
(answered \`{"type": "end", "chunks": n}\`, then close 1000); \`{"type": "ping"}\` (answered \`{"type": "pong"}\`). Server to client: per
chunk, in order, one binary message (the outputs' bytes, in order) or one text \`{"error": "...", "chunk": n}\`. The socket's first chunk starts the
sequence (as \`sequence_start\`); the end message or closing the socket ends it and clears its state. A message too large closes with 1009,
more than 256 unanswered with 1008; a newer stream of the same sequence closes the older with 4000.`;

/** Streaming a sequence over a WebSocket: the ticket (with a key) and the stream (with the ticket). */
function sequenceStreamPaths(): Record<string, Json> {
  const ticket = (operationId: string, parameters: Json[]) => ({
    post: {
      operationId,
      tags: ['models'],
      summary: 'A single-use ticket (60 s) to open a WebSocket stream of this sequence: bound to the caller, the model and the sequence id',
      parameters,
      responses: { ...ok('sequence_ticket', 201), ...errors(400, 401, 404, 429) },
    },
  });
  const textError = (description: string) => ({ description, content: { 'application/json': { schema: ref('error') } } });
  return {
    '/v2/models/{name}/sequences/{sequence_id}/ticket': ticket('sequence-ticket', [MODEL, SEQUENCE]),
    '/v2/models/{name}/versions/{version}/sequences/{sequence_id}/ticket': ticket('sequence-ticket-version', [MODEL, VERSION, SEQUENCE]),
    '/v2/models/{name}/sequences/{sequence_id}/stream': {
      get: {
        operationId: 'sequence-stream',
        tags: ['models'],
        summary: 'Stream a sequence over a WebSocket (Upgrade: websocket), authenticated by a ticket',
        description: STREAM_DESCRIPTION,
        security: [{ ticket: [] }],
        parameters: [MODEL, SEQUENCE, { name: 'ticket', in: 'query', required: false, schema: { type: 'string' }, description: 'The ticket, unless sent as Sec-WebSocket-Protocol: ticket.<ticket>' }],
        responses: {
          101: { description: 'Switching Protocols: the stream is open' },
          ...errors(400),
          401: textError('Missing, unknown, used or expired ticket, or one issued for another sequence'),
          426: textError('Not a WebSocket upgrade'),
        },
      },
    },
  };
}

function paths(): Record<string, Json> {
  return {
    '/v2/health/live': { get: { operationId: 'health-live', tags: ['server'], summary: 'Server live', ...PUBLIC, responses: { 200: { description: 'Live' } } } },
    '/v2/health/ready': {
      get: { operationId: 'health-ready', tags: ['server'], summary: 'Server ready (ONNX Runtime up in this isolate)', ...PUBLIC, responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } } },
    },
    '/v2': { get: { operationId: 'server-metadata', tags: ['server'], summary: 'Server metadata', responses: { ...ok('metadata_server_response'), ...errors(401) } } },
    '/v2/systemsharedmemory/{path}': {
      get: { operationId: 'system-shared-memory', tags: ['server'], summary: 'Triton system shared memory: not supported, always 400', parameters: [param('path', 'Any')], responses: errors(400, 401) },
    },
    '/v2/cudasharedmemory/{path}': {
      get: { operationId: 'cuda-shared-memory', tags: ['server'], summary: 'Triton CUDA shared memory: not supported, always 400', parameters: [param('path', 'Any')], responses: errors(400, 401) },
    },
    '/v2/models/stats': {
      get: { operationId: 'stats', tags: ['models'], summary: 'Statistics of every served version (Triton statistics extension)', responses: { 200: { description: 'OK', content: { 'application/json': { schema: { type: 'object', properties: { model_stats: { type: 'array' } }, required: ['model_stats'] } } } }, ...errors(401) } },
    },
    ...perModel('', 'get', { operationId: 'model-metadata', tags: ['models'], summary: 'Model metadata', responses: { ...ok('metadata_model_response', 200, MODEL_VERSION_HEADER), ...errors(400, 401, 404) } }),
    ...perModel('/ready', 'get', { operationId: 'model-ready', tags: ['models'], summary: 'Model ready: 200 when it is, 400 when not', responses: { ...ok('model_ready', 200, MODEL_VERSION_HEADER), ...errors(400, 401, 404) } }),
    ...perModel('/config', 'get', { operationId: 'model-config', tags: ['models'], summary: 'Model configuration (Triton model configuration extension, as JSON)', responses: { 200: { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(400, 401, 404) } }),
    ...perModel('/stats', 'get', { operationId: 'model-stats', tags: ['models'], summary: 'Statistics of one model or version', responses: { 200: { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(400, 401, 404) } }),
    ...perModel('/infer', 'post', {
      operationId: 'infer',
      tags: ['models'],
      summary: 'Inference',
      description: INFER_DESCRIPTION,
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref('inference_request') },
          'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' }, description: 'Binary tensor data extension: JSON header, then tensor bytes' },
        },
      },
      responses: {
        200: {
          description: 'OK',
          headers: { ...MODEL_VERSION_HEADER, 'Server-Timing': { schema: { type: 'string' }, description: 'infer;dur=<ms>, rest;dur=<ms>' } },
          content: { 'application/json': { schema: ref('inference_response') }, 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
        },
        ...errors(400, 401, 404, 413, 415, 429),
      },
    }),
    ...sequenceStreamPaths(),
    '/v2/repository/index': {
      post: { operationId: 'repository-index', tags: ['repository'], summary: 'Every model version and its state', requestBody: jsonBody('repository_index_request', false), responses: { ...ok('repository_index'), ...errors(400, 401) } },
    },
    '/v2/repository/models/{name}/versions/{version}/model.onnx': {
      put: {
        operationId: 'repository-upload',
        tags: ['repository'],
        summary: 'Upload one version\'s ONNX file (admin); it must load before it is stored',
        parameters: [MODEL, VERSION],
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
        responses: { 201: { description: 'Created', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(400, 401, 403, 413) },
      },
    },
    '/v2/repository/models/{name}/load': {
      post: { operationId: 'repository-load', tags: ['repository'], summary: 'Triton load: with `config` / `file:<version>/model.onnx` parameters it writes them first (admin)', parameters: [MODEL], requestBody: jsonBody('repository_load_request', false), responses: { 200: { description: 'Loaded' }, ...errors(400, 401, 403, 404, 409, 413) } },
    },
    '/v2/repository/models/{name}/unload': {
      post: { operationId: 'repository-unload', tags: ['repository'], summary: 'Triton unload (admin)', parameters: [MODEL], requestBody: jsonBody('repository_load_request', false), responses: { 200: { description: 'Unloaded' }, ...errors(400, 401, 403) } },
    },
    '/v2/sessions': {
      post: { operationId: 'session-create', tags: ['sessions'], summary: 'Start a recommendation session', requestBody: jsonBody('session_create'), responses: { ...ok('session_summary', 201), ...errors(400, 401, 404, 429) } },
      get: { operationId: 'session-list', tags: ['sessions'], summary: 'The caller\'s open sessions', responses: { ...ok('session_list'), ...errors(401) } },
    },
    '/v2/sessions/{id}': {
      get: { operationId: 'session-get', tags: ['sessions'], summary: 'State and history', parameters: [SESSION], responses: { ...ok('session_summary'), ...errors(401, 404) } },
      delete: { operationId: 'session-end', tags: ['sessions'], summary: 'End it, leaving no storage', parameters: [SESSION], responses: { ...ok(null, 204), ...errors(401, 404) } },
    },
    '/v2/sessions/{id}/recommend': {
      post: { operationId: 'session-recommend', tags: ['sessions'], summary: 'The best k items not yet shown, rated, rejected or excluded', parameters: [SESSION], requestBody: jsonBody('recommend_request', false), responses: { ...ok('recommendation'), ...errors(400, 401, 404, 409, 429) } },
    },
    '/v2/sessions/{id}/try-again': {
      post: { operationId: 'session-try-again', tags: ['sessions'], summary: 'Reject the last answer, then recommend again', parameters: [SESSION], requestBody: jsonBody('recommend_request', false), responses: { ...ok('recommendation'), ...errors(400, 401, 404, 409, 429) } },
    },
    '/v2/sessions/{id}/feedback': {
      post: { operationId: 'session-feedback', tags: ['sessions'], summary: 'Accept, reject or rate an item', parameters: [SESSION], requestBody: jsonBody('feedback'), responses: { 200: { description: 'Recorded', content: { 'application/json': { schema: { type: 'object', properties: { step: { type: 'integer' }, recorded: ref('feedback') }, required: ['step', 'recorded'] } } } }, ...errors(400, 401, 404, 409) } },
    },
    '/v2/batches/inbox/{model}/{file}': {
      put: {
        operationId: 'batch-upload',
        tags: ['batches'],
        summary: 'Upload a CSV or JSON Lines file (optionally .gz) and start its job: the answer is the job, already queued',
        parameters: [param('model', 'Model to score with'), param('file', 'File name: 1-200 letters, digits, _ . -'), ...queryParameters(uploadQuerySchema)],
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
        responses: { ...ok('batch_upload', 202), ...errors(400, 401, 411, 413, 429) },
      },
    },
    '/v2/batches': {
      post: { operationId: 'batch-create', tags: ['batches'], summary: 'Start a job over a file already in the caller\'s inbox', requestBody: jsonBody('batch_create'), responses: { ...ok('batch_status', 202), ...errors(400, 401, 404, 429) } },
      get: {
        operationId: 'batch-list',
        tags: ['batches'],
        summary: 'The caller\'s jobs, newest first, a page at a time (pass the answer\'s cursor for the next page)',
        parameters: queryParameters(batchListSchema),
        responses: { ...ok('batch_list'), ...errors(400, 401) },
      },
    },
    '/v2/batches/{id}': { get: { operationId: 'batch-get', tags: ['batches'], summary: 'Job status and progress', parameters: [JOB], responses: { ...ok('batch_status'), ...errors(401, 404) } } },
    '/v2/batches/{id}/cancel': { post: { operationId: 'batch-cancel', tags: ['batches'], summary: 'Cancel: remaining chunks do no work', parameters: [JOB], responses: { ...ok('batch_status'), ...errors(401, 404) } } },
    '/v2/batches/{id}/output': {
      get: { operationId: 'batch-output', tags: ['batches'], summary: 'Results as JSON Lines, in input order, once the job has ended; a failed or cancelled job\'s are partial', parameters: [JOB], responses: { 200: PARTS, ...errors(401, 404, 409) } },
    },
    '/v2/batches/{id}/errors': {
      get: { operationId: 'batch-errors', tags: ['batches'], summary: 'Per-record errors as JSON Lines, once the job has ended; a failed or cancelled job\'s are partial', parameters: [JOB], responses: { 200: PARTS, ...errors(401, 404, 409) } },
    },
    '/v2/consumers': {
      post: { operationId: 'consumer-add', tags: ['consumers'], summary: 'Add a consumer (admin): its key is in this answer only', requestBody: jsonBody('consumer_create'), responses: { ...ok('consumer_created', 201), ...errors(400, 401, 403, 409) } },
      get: { operationId: 'consumer-list', tags: ['consumers'], summary: 'Every consumer, bootstrap and registry (admin)', responses: { ...ok('consumer_list'), ...errors(401, 403) } },
    },
    '/v2/consumers/{id}': {
      delete: { operationId: 'consumer-revoke', tags: ['consumers'], summary: 'Revoke a consumer (admin): its key stops working within 30 s everywhere', parameters: [param('id', 'Consumer id')], responses: { ...ok(null, 204), ...errors(401, 403, 404, 409) } },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: ['server'],
        summary: 'Prometheus metrics, summed over every isolate (admin key)',
        responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401, 403) },
      },
    },
    '/openapi.json': { get: { operationId: 'openapi', tags: ['docs'], summary: 'This document', ...PUBLIC, responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/docs': { get: { operationId: 'docs', tags: ['docs'], summary: 'Interactive API reference', ...PUBLIC, responses: { 200: { description: 'HTML' } } } },
  };
}

let document: Json | undefined;

export function openApiDocument(version: string): Json {
  document ??= {
    openapi: '3.1.0',
    info: {
      title: 'edge-inference',
      version,
      description:
        'ONNX models on Cloudflare Workers: the Open Inference Protocol (KServe v2 / Triton REST) with Triton\'s extensions, recommendation sessions, and batch jobs over R2. Every error answers `{"error": "..."}`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    tags: ['server', 'models', 'repository', 'sessions', 'batches', 'consumers', 'docs'].map((name) => ({ name })),
    paths: paths(),
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A consumer key: `Authorization: Bearer <key>`' },
        ticket: { type: 'apiKey', in: 'query', name: 'ticket', description: 'A stream ticket from POST /v2/models/{name}/sequences/{sequence_id}/ticket (or Sec-WebSocket-Protocol: ticket.<ticket>)' },
      },
    },
  };
  return document;
}
