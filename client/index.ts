// A typed client for the edge-inference server, on `fetch` alone: it runs in browsers, Node and workerd.
// Wire types come from the server's own modules as type-only imports, so no server code is bundled.
import type { z } from 'zod';
import type { Format } from '../src/batch/formats';
import type { JobStatus } from '../src/batch/job-types';
import type { ConsumerListing } from '../src/consumers/consumers-object';
import type { IndexEntry } from '../src/runtime/model-repository';
import type { InferenceRequest, InferenceResponse, ModelMetadata, Parameters, RequestOutput, serverMetadataSchema } from '../src/runtime/protocol';
import type { tritonConfig } from '../src/runtime/triton-config';
import type { modelStats } from '../src/serving';
import type { createSchema as sessionCreateSchema } from '../src/sessions/session-routes';
import type { Answer, Feedback, SessionListing, SessionSummary } from '../src/sessions/session-types';
import { concatBytes } from '../src/runtime/bytes.ts';
import { datatypeOf, tensorBytes, tensorFromBytes, tensorFromJson, tensorJson, type Tensor, type TensorInput } from './tensors.ts';

export type { ConsumerListing, Format, JobStatus, IndexEntry, InferenceRequest, InferenceResponse, ModelMetadata, Parameters, RequestOutput, Answer, Feedback, SessionListing, SessionSummary };
export type { Datatype, Tensor, TensorArrays, TensorData, TensorInput } from './tensors.ts';
export type ServerMetadata = z.infer<typeof serverMetadataSchema>;
export type ModelConfiguration = ReturnType<typeof tritonConfig>;
export type ModelStatistics = Awaited<ReturnType<typeof modelStats>>;
export type JobState = JobStatus['state'];
export type CreateSession = z.input<typeof sessionCreateSchema>;
export type Session = SessionSummary & { url: string };
export interface CreateJob {
  model: string;
  version?: string;
  input_key: string;
  format?: Format;
  options?: { chunk_bytes?: number; fault_rate?: number };
}
export interface CreateConsumer {
  /** 1-64 letters, digits, '_' or '-'. */
  consumer: string;
  admin?: boolean;
  /** Default "standard". */
  tier?: string;
}
/** A new consumer with its key: the only time the key is ever shown. */
export type CreatedConsumer = ConsumerListing & { key: string };
export interface UploadedInput {
  id: string;
  url: string;
  input: string;
  size: number;
}

export const HEADER_LENGTH = 'Inference-Header-Content-Length';
export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** A non-2xx answer: `status`, and the server's `{"error": "..."}` message verbatim as `message`. */
export class ApiError extends Error {
  readonly status: number;
  /** The parsed body when it was JSON, else its text. */
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export interface ClientOptions {
  /** Server base URL, e.g. http://localhost:8787 */
  url: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** A fetch to use instead of the global one (a service binding's, a test double...). */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

export interface TensorOptions {
  version?: string;
  /** Outputs to return (names, or protocol outputs with parameters); all outputs when left out. */
  outputs?: (string | RequestOutput)[];
  /** Binary tensor extension both ways (default true); false sends and receives JSON data. */
  binary?: boolean;
  id?: string;
  parameters?: Parameters;
}

export interface TensorResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: Tensor[];
}

type Body = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;
interface CallInit {
  json?: unknown;
  body?: Body;
  headers?: Record<string, string>;
  /** Statuses that are answers rather than errors. */
  accept?: number[];
}

const segment = encodeURIComponent;
const modelPath = (name: string, version?: string) => `/v2/models/${segment(name)}${version === undefined ? '' : `/versions/${segment(version)}`}`;

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  const error = (body as { error?: unknown } | null)?.error;
  const message = typeof error === 'string' ? error : `${response.status} ${response.statusText || 'error'}${text ? `: ${text.slice(0, 200)}` : ''}`;
  return new ApiError(response.status, message, body);
}

/** A client for one server and key. */
export function createClient(options: ClientOptions) {
  const base = options.url.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? ((input: string, init?: RequestInit) => globalThis.fetch(input, init));

  async function call(method: string, path: string, init: CallInit = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (options.key) headers.Authorization = `Bearer ${options.key}`;
    let body: BodyInit | undefined = init.body as BodyInit | undefined;
    if (init.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    // A stream body needs half duplex in Node's fetch (and is ignored elsewhere).
    const request = { method, headers, body, ...(body instanceof ReadableStream && { duplex: 'half' }) } as RequestInit;
    const response = await fetchImpl(`${base}${path}`, request);
    if (!response.ok && !init.accept?.includes(response.status)) throw await errorOf(response);
    return response;
  }
  const json = async <T>(method: string, path: string, init?: CallInit): Promise<T> => (await (await call(method, path, init)).json()) as T;

  const models = {
    /** The repository index: every version with its state (READY / UNAVAILABLE) and reason. */
    list: (filter: { ready?: boolean } = {}) => json<IndexEntry[]>('POST', '/v2/repository/index', { json: filter }),
    metadata: (name: string, version?: string) => json<ModelMetadata>('GET', modelPath(name, version)),
    config: (name: string, version?: string) => json<ModelConfiguration>('GET', `${modelPath(name, version)}/config`),
    /** True when the version loads; false when it cannot (an unknown model still throws a 404). */
    ready: async (name: string, version?: string) => {
      const response = await call('GET', `${modelPath(name, version)}/ready`, { accept: [400] });
      const body = (await response.json()) as { ready?: boolean; error?: string };
      if (response.status === 400 && typeof body.error === 'string') throw new ApiError(400, body.error, body);
      return body.ready === true;
    },
    stats: (name?: string, version?: string) => json<ModelStatistics>('GET', name === undefined ? '/v2/models/stats' : `${modelPath(name, version)}/stats`),
  };

  /** Inference with tensors as typed arrays, over the binary tensor extension (or JSON with `binary: false`). */
  async function inferTensors(name: string, inputs: TensorInput[], opts: TensorOptions = {}): Promise<TensorResponse> {
    const binary = opts.binary ?? true;
    const blobs: Uint8Array[] = [];
    const header: InferenceRequest = {
      ...(opts.id !== undefined && { id: opts.id }),
      inputs: inputs.map((input) => {
        const datatype = datatypeOf(input);
        const described = { name: input.name, shape: input.shape, datatype };
        if (!binary) return { ...described, data: tensorJson(input.name, datatype, input.data), ...(input.parameters && { parameters: input.parameters }) };
        const bytes = tensorBytes(input.name, datatype, input.data);
        blobs.push(bytes);
        return { ...described, parameters: { ...input.parameters, binary_data_size: bytes.byteLength } };
      }),
    };
    const outputs = opts.outputs?.map((o) => (typeof o === 'string' ? { name: o } : o));
    if (outputs) header.outputs = outputs.map((o) => (binary ? { ...o, parameters: { ...o.parameters, binary_data: true } } : o));
    header.parameters = { ...opts.parameters, ...(binary && !outputs && { binary_data_output: true }) };
    if (!Object.keys(header.parameters).length) delete header.parameters;

    const path = `${modelPath(name, opts.version)}/infer`;
    const response = binary
      ? await (async () => {
          const head = new TextEncoder().encode(JSON.stringify(header));
          return call('POST', path, { body: concatBytes([head, ...blobs]), headers: { 'Content-Type': 'application/octet-stream', [HEADER_LENGTH]: String(head.byteLength) } });
        })()
      : await call('POST', path, { json: header });

    const bytes = new Uint8Array(await response.arrayBuffer());
    const length = response.headers.get(HEADER_LENGTH);
    const jsonLength = length === null ? bytes.byteLength : Number(length);
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(0, jsonLength))) as InferenceResponse;
    let offset = jsonLength;
    const decoded = parsed.outputs.map((output): Tensor => {
      const size = output.parameters?.binary_data_size;
      const { binary_data_size: _, ...parameters } = output.parameters ?? {};
      let data;
      if (typeof size === 'number') {
        data = tensorFromBytes(output.name, output.datatype as Tensor['datatype'], output.shape, bytes.subarray(offset, offset + size));
        offset += size;
      } else {
        data = tensorFromJson(output.name, output.datatype as Tensor['datatype'], output.data ?? []);
      }
      return { name: output.name, datatype: output.datatype, shape: output.shape, data, ...(Object.keys(parameters).length && { parameters }) } as Tensor;
    });
    const { outputs: _, ...rest } = parsed;
    return { ...rest, outputs: decoded };
  }

  const sessions = {
    create: (request: CreateSession) => json<Session>('POST', '/v2/sessions', { json: request }),
    get: (id: string) => json<SessionSummary>('GET', `/v2/sessions/${segment(id)}`),
    list: async () => (await json<{ sessions: SessionListing[] }>('GET', '/v2/sessions')).sessions,
    recommend: (id: string, k?: number) => json<Answer>('POST', `/v2/sessions/${segment(id)}/recommend`, { json: k === undefined ? {} : { k } }),
    /** Rejects the last answer, then recommends again. */
    tryAgain: (id: string, k?: number) => json<Answer>('POST', `/v2/sessions/${segment(id)}/try-again`, { json: k === undefined ? {} : { k } }),
    feedback: (id: string, feedback: Feedback) => json<{ step: number; recorded: Feedback }>('POST', `/v2/sessions/${segment(id)}/feedback`, { json: feedback }),
    end: async (id: string): Promise<void> => {
      await (await call('DELETE', `/v2/sessions/${segment(id)}`)).body?.cancel();
    },
  };

  const batchPath = (id: string) => `/v2/batches/${segment(id)}`;
  const batches = {
    /**
     * Puts a file into the caller's inbox, which starts a job on it (202 with the job id). The server needs the
     * length up front: bytes, strings and Blobs have one; a ReadableStream needs `size`.
     */
    upload: (model: string, fileName: string, body: Body, opts: { size?: number } = {}) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      if (body instanceof ReadableStream) {
        if (opts.size === undefined) throw new TypeError('batches.upload: a ReadableStream body needs { size }');
        headers['Content-Length'] = String(opts.size);
      }
      return json<UploadedInput>('PUT', `/v2/batches/inbox/${segment(model)}/${segment(fileName)}`, { body, headers });
    },
    /** Starts a job on an object already in the caller's inbox. */
    create: (request: CreateJob) => json<JobStatus>('POST', '/v2/batches', { json: request }),
    get: (id: string) => json<JobStatus>('GET', batchPath(id)),
    list: async () => (await json<{ jobs: JobStatus[] }>('GET', '/v2/batches')).jobs,
    cancel: (id: string) => json<JobStatus>('POST', `${batchPath(id)}/cancel`),
    /** The result lines (JSON Lines, input order) as a stream, once the job has succeeded. */
    output: async (id: string) => (await call('GET', `${batchPath(id)}/output`)).body!,
    /** The error lines as a stream, once the job has succeeded. */
    errors: async (id: string) => (await call('GET', `${batchPath(id)}/errors`)).body!,
    outputText: async (id: string) => (await call('GET', `${batchPath(id)}/output`)).text(),
    errorsText: async (id: string) => (await call('GET', `${batchPath(id)}/errors`)).text(),
    /** Polls until the job is succeeded, failed or cancelled (the server makes a job before answering its upload); `onStatus` sees every status read. */
    wait: async (id: string, opts: { intervalMs?: number; onStatus?: (status: JobStatus) => void; signal?: AbortSignal } = {}) => {
      for (;;) {
        opts.signal?.throwIfAborted();
        const status = await batches.get(id);
        opts.onStatus?.(status);
        if (TERMINAL_STATES.includes(status.state)) return status;
        await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 500));
      }
    },
  };

  const repository = {
    index: models.list,
    /**
     * Triton's load: `files` (repository paths such as `config.pbtxt` or `2/model.onnx`, as bytes or base64) are
     * written, `config` replaces the config; with neither an unloaded model serves again. Admins only.
     */
    load: async (name: string, opts: { files?: Record<string, Uint8Array | string>; config?: string | object } = {}): Promise<void> => {
      const parameters: Record<string, string> = {};
      for (const [path, content] of Object.entries(opts.files ?? {})) parameters[`file:${path}`] = typeof content === 'string' ? content : base64(content);
      if (opts.config !== undefined) parameters.config = typeof opts.config === 'string' ? opts.config : JSON.stringify(opts.config);
      await json('POST', `/v2/repository/models/${segment(name)}/load`, { json: { parameters } });
    },
    unload: async (name: string): Promise<void> => {
      await json('POST', `/v2/repository/models/${segment(name)}/unload`, { json: {} });
    },
    /** Uploads one version's model.onnx as raw bytes. */
    uploadVersion: (name: string, version: string, model: Uint8Array | ArrayBuffer | Blob) =>
      json<{ name: string; version: string; state: string }>('PUT', `/v2/repository/models/${segment(name)}/versions/${segment(version)}/model.onnx`, {
        body: model,
        headers: { 'Content-Type': 'application/octet-stream' },
      }),
  };

  const consumers = {
    /** Adds a consumer (admin key); the answer carries its generated key, shown this once. */
    create: (request: CreateConsumer) => json<CreatedConsumer>('POST', '/v2/consumers', { json: request }),
    /** Every consumer: the secret's bootstrap ones and the registry's, revoked ones with `revoked_at`; never keys. */
    list: async () => (await json<{ consumers: ConsumerListing[] }>('GET', '/v2/consumers')).consumers,
    /** Revokes a consumer's key: every isolate refuses it within 30 s. */
    revoke: async (id: string): Promise<void> => {
      await (await call('DELETE', `/v2/consumers/${segment(id)}`)).body?.cancel();
    },
  };

  return {
    url: base,
    /** Server name, version and extensions. */
    server: () => json<ServerMetadata>('GET', '/v2'),
    /** Liveness and readiness (no key needed); a server that is not ready answers ready: false. */
    health: async () => {
      const live = await call('GET', '/v2/health/live', { accept: [503] });
      const ready = await call('GET', '/v2/health/ready', { accept: [503] });
      return { live: ((await live.json()) as { live?: boolean }).live === true, ready: ((await ready.json()) as { ready?: boolean }).ready === true };
    },
    models,
    /** Inference over the protocol's JSON. */
    infer: (name: string, request: InferenceRequest, opts: { version?: string } = {}) =>
      json<InferenceResponse>('POST', `${modelPath(name, opts.version)}/infer`, { json: request }),
    inferTensors,
    sessions,
    batches,
    repository,
    consumers,
  };
}

export type Client = ReturnType<typeof createClient>;

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
