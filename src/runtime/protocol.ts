// Wire types of the Open Inference Protocol (v2 REST) and the validating schemas for requests.
import { z } from 'zod';
import { badRequest } from './errors';

/** Tensor data is checked element by element by the codec; the schema only asks for an array (and never copies it). */
export const tensorData = z.custom<unknown[]>(Array.isArray, 'must be an array');

export const parametersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

const shapeSchema = z.array(z.int().nonnegative().max(Number.MAX_SAFE_INTEGER));

export const requestInputSchema = z.object({
  name: z.string().min(1),
  shape: shapeSchema,
  datatype: z.string(),
  parameters: parametersSchema.optional(),
  data: tensorData.optional(),
});

export const requestOutputSchema = z.object({
  name: z.string().min(1),
  parameters: parametersSchema.optional(),
});

export const inferenceRequestSchema = z.object({
  id: z.string().optional(),
  parameters: parametersSchema.optional(),
  inputs: z.array(requestInputSchema).min(1),
  outputs: z.array(requestOutputSchema).optional(),
});

export type Parameters = z.infer<typeof parametersSchema>;
export type RequestInput = z.infer<typeof requestInputSchema>;
export type RequestOutput = z.infer<typeof requestOutputSchema>;
export type InferenceRequest = z.infer<typeof inferenceRequestSchema>;

/** Tensor data as the protocol's `tensor_data`: nested arrays of numbers, strings and booleans. */
export const responseOutputSchema = z.object({
  name: z.string(),
  shape: z.array(z.int()),
  datatype: z.string(),
  parameters: parametersSchema.optional(),
  data: tensorData.optional(),
});

export const inferenceResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: parametersSchema.optional(),
  outputs: z.array(responseOutputSchema),
});

export const tensorMetadataSchema = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.int()) });

export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(tensorMetadataSchema).optional(),
  outputs: z.array(tensorMetadataSchema).optional(),
  /** In the protocol's schema; this server sends none. */
  properties: z.record(z.string(), z.string()).optional(),
});

export const serverMetadataSchema = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });

/** Every error answer, on every route. */
export const errorSchema = z.object({ error: z.string() });

export type ResponseOutput = z.infer<typeof responseOutputSchema>;
export type InferenceResponse = z.infer<typeof inferenceResponseSchema>;
export type TensorMetadata = z.infer<typeof tensorMetadataSchema>;
export type ModelMetadata = Required<Omit<z.infer<typeof modelMetadataSchema>, 'properties'>>;

/** Formats a zod failure as one line that names the offending field, e.g. `inputs[0].shape: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function parseJson(text: string, what = 'request body'): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

export function validate<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(`${what}: ${describeIssues(result.error)}`);
  return result.data;
}
