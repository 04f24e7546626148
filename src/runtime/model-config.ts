// A model's configuration: Triton's ModelConfig (config.pbtxt or JSON) plus the server's own fields.
import { z } from 'zod';
import { badRequest } from './errors';
import { describeIssues } from './protocol';
import { checkConfigJson } from './config-json';
import { parseTextFormat } from './text-format';
import type { GraphOptimizationLevel } from './ort';

/** The server's own fields beside Triton's: what the graph cannot say, and descriptive facts about the model. */
const EXTENSION_FIELDS = [
  'description',
  'labels',
  'features',
  'session',
  'batch',
  'training',
  'licence',
  'source',
  'sample_rate',
  'chunk_samples',
  'classification_output',
  'max_input_elements',
] as const;

const idleTimeout = z.int().min(1).max(30 * 24 * 3600);

/** Triton's ModelInput / ModelOutput, as far as the server reads them; the parser has checked the rest. */
const tensorConfigSchema = z.looseObject({
  name: z.string(),
  data_type: z.string().optional(),
  dims: z.array(z.int()).optional(),
  reshape: z.looseObject({ shape: z.array(z.int()).optional() }).optional(),
  label_filename: z.string().optional(),
});

const versionPolicySchema = z.looseObject({
  latest: z.object({ num_versions: z.int().positive() }).optional(),
  all: z.object({}).optional(),
  specific: z.object({ versions: z.array(z.int()) }).optional(),
});

export const modelConfigSchema = z.looseObject({
  name: z.string().optional(),
  description: z.string().optional(),
  platform: z.string().default('onnxruntime_onnx'),
  backend: z.string().optional(),
  /** Largest first (batch) dimension accepted; 0 means the model takes no batch dimension. */
  max_batch_size: z.int().nonnegative().default(0),
  input: z.array(tensorConfigSchema).optional(),
  output: z.array(tensorConfigSchema).optional(),
  version_policy: versionPolicySchema.optional(),
  labels: z.array(z.string()).optional(),
  features: z.array(z.string()).optional(),
  /** Bounds one request's work: elements over all inputs, or per named input (see `inputLimit`). */
  max_input_elements: z.union([z.int().positive(), z.record(z.string(), z.int().nonnegative())]).optional(),
  /** Triton's dynamic batcher: concurrent requests run as one execution (see dynamic-batcher.ts). */
  dynamic_batching: z
    .looseObject({
      preferred_batch_size: z.array(z.int().positive()).optional(),
      max_queue_delay_microseconds: z.int().nonnegative().max(1_000_000).optional(),
    })
    .optional(),
  /** Triton's ONNX Runtime backend reads optimization.graph.level (see `graphOptimizationLevel`). */
  optimization: z.looseObject({ graph: z.looseObject({ level: z.int().optional() }).optional() }).optional(),
  /** Interactive sessions on this model (POST /v2/sessions). */
  session: z.object({ kind: z.literal('recommender'), idle_timeout_seconds: idleTimeout.default(1800) }).optional(),
  /** Batch jobs: the input column copied into each result. */
  batch: z.object({ id_column: z.string().default('id') }).optional(),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type TensorConfig = z.infer<typeof tensorConfigSchema>;

/** The file names a config may have, in the order one is preferred when a folder holds both. */
export const CONFIG_FILES = ['config.pbtxt', 'config.json'] as const;
export type ConfigFile = (typeof CONFIG_FILES)[number];

function withDefaults(raw: Record<string, unknown>, where: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) throw badRequest(`${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A config given as JSON (Triton's protobuf JSON mapping, plus the server's fields). */
export function parseModelConfig(raw: unknown, where: string): ModelConfig {
  return withDefaults(checkConfigJson(raw, 'ModelConfig', EXTENSION_FIELDS, where), where);
}

/** A config file's text: `config.pbtxt` is protobuf text format, `config.json` is JSON. */
export function parseConfigFile(file: ConfigFile, text: string, where: string): ModelConfig {
  if (file === 'config.pbtxt') return withDefaults(parseTextFormat(text, 'ModelConfig', where), where);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw badRequest(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  return parseModelConfig(raw, where);
}

/**
 * ONNX Runtime's graph optimisation level, as Triton's ONNX Runtime backend maps optimization.graph.level:
 * -1 basic, 1 basic and extended, 2 none, anything else all. A model optimised ahead of time (`edge-inference upload
 * --optimize`) loads faster with nothing left to do.
 */
export function graphOptimizationLevel(config: ModelConfig): GraphOptimizationLevel {
  const level = config.optimization?.graph?.level;
  return level === -1 ? 'basic' : level === 1 ? 'extended' : level === 2 ? 'disabled' : 'all';
}
