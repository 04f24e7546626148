// Wire types of the Open Inference Protocol (v2 REST) and the validating schemas for requests.
import { z } from 'zod';
import { badRequest } from './errors';

/** Tensor data is checked element by element by the codec; the schema only asks for an array (and never copies it). */
const tensorData = z.custom<unknown[]>(Array.isArray, 'must be an array');

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

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: unknown[];
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

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
