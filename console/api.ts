// The console's one door to the server: the typed client, with a fetch that notes each answer's timing.
import { createClient } from '../client/index.ts';

export type Client = ReturnType<typeof createClient>;

export interface Timing {
  /** Server-Timing entries (infer, rest, ...) in ms. */
  server: Record<string, number>;
  /** Until the response headers arrived. */
  headersMs: number;
}

let lastTiming: Timing | undefined;

/** The timing of the most recent response (read it right after awaiting a call). */
export const takeTiming = (): Timing | undefined => {
  const t = lastTiming;
  lastTiming = undefined;
  return t;
};

export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    out[name] = dur ? Number(dur.slice(4)) : 0;
  }
  return out;
}

export function makeClient(key: string): Client {
  const timedFetch: typeof fetch = async (input, init) => {
    const start = performance.now();
    const response = await fetch(input, init);
    lastTiming = { server: parseServerTiming(response.headers.get('Server-Timing')), headersMs: performance.now() - start };
    return response;
  };
  return createClient({ url: location.origin, key, fetch: timedFetch });
}

/** What the tabs share: the current client (undefined until a key is given). */
export interface Context {
  client(): Client;
  /** Switches to another tab. */
  go(tab: string): void;
}

/** The model's config, loosely typed: only what the console reads. */
export interface ModelConfig {
  description?: string;
  labels?: string[];
  features?: string[];
  classification_output?: string;
  max_batch_size?: number;
  sequence_batching?: unknown;
  session?: { kind?: string };
  training?: { accuracy?: number; data?: string };
  [key: string]: unknown;
}

export interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMeta {
  name: string;
  versions?: string[];
  platform?: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface InferAnswer {
  model_name: string;
  model_version?: string;
  outputs: OutputTensor[];
}

export interface IndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

/** The repository index, whether the client answers the array itself or wraps it. */
export async function listModels(client: Client): Promise<IndexEntry[]> {
  const answer = (await client.models.list()) as unknown;
  if (Array.isArray(answer)) return answer as IndexEntry[];
  const wrapped = answer as { models?: IndexEntry[]; model_repository?: IndexEntry[] };
  return wrapped.models ?? wrapped.model_repository ?? [];
}

/** The configuration, unwrapped from `{ model_configuration }` if the client does not. */
export async function modelConfig(client: Client, name: string, version?: string): Promise<ModelConfig> {
  const answer = (await client.models.config(name, version)) as unknown as ModelConfig & { model_configuration?: ModelConfig };
  return answer.model_configuration ?? answer;
}

export async function infer(client: Client, name: string, request: unknown, version?: string): Promise<InferAnswer> {
  return (await client.infer(name, request as never, version ? { version } : {})) as unknown as InferAnswer;
}

/** One output's flat data. */
export function output(answer: InferAnswer, name: string): unknown[] {
  const found = answer.outputs.find((o) => o.name === name);
  if (!found) throw new Error(`the answer has no output '${name}'`);
  return (found.data as unknown[]).flat(Infinity as 1);
}
