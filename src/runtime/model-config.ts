// A model's config.json: what the ONNX graph cannot say (labels, feature names, batch limit, state).
import { z } from 'zod';
import { isDatatype } from './datatypes';

const idleTimeout = z.int().min(1).max(30 * 24 * 3600);

/** A tensor the server carries from one sequence call to the next: fed as `input`, read from `output`. */
const stateSchema = z.object({
  input: z.string(),
  output: z.string(),
  datatype: z.string().refine(isDatatype, 'must be a protocol datatype'),
  shape: z.array(z.int().nonnegative()),
  initial: z.number().default(0),
});

export const modelConfigSchema = z.looseObject({
  description: z.string().optional(),
  platform: z.string().default('onnxruntime_onnx'),
  /** Largest first (batch) dimension accepted; 0 means the model takes no batch dimension. */
  max_batch_size: z.int().nonnegative().default(0),
  labels: z.array(z.string()).optional(),
  features: z.array(z.string()).optional(),
  /** Interactive sessions on this model (POST /v2/sessions). */
  session: z.object({ kind: z.literal('recommender'), idle_timeout_seconds: idleTimeout.default(1800) }).optional(),
  /** Batch jobs: the input column copied into each result. */
  batch: z.object({ id_column: z.string().default('id') }).optional(),
  /** Triton's sequence extension: implicit state carried between calls of one sequence. */
  sequence: z
    .object({
      idle_timeout_seconds: idleTimeout.default(600),
      states: z.array(stateSchema).min(1),
      /** Streaming context: the last `length` elements of `input` are kept and prepended to the next call's. */
      context: z.object({ input: z.string(), length: z.int().positive().max(1 << 16) }).optional(),
    })
    .optional(),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type StateConfig = z.infer<typeof stateSchema>;
