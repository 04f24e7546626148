// Request bodies: size limits enforced before reading, JSON parsing and validation with field-naming errors.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { InferenceError, badRequest } from '../runtime/errors';
import { describeIssues } from '../runtime/protocol';

export const requestLimit = (env: Env) => Number(env.MAX_REQUEST_BYTES);
export const modelLimit = (env: Env) => Number(env.MAX_MODEL_BYTES);

/** Rejects bodies over `limit` bytes with 413: by Content-Length up front, else while streaming. */
export function limitBody(limit: (env: Env) => number): MiddlewareHandler<{ Bindings: Env }> {
  return async function limitBody(c, next) {
    const maxSize = limit(c.env);
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new InferenceError(413, `request body exceeds the limit of ${maxSize} bytes`);
      },
    })(c, next);
  };
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

/** An optional JSON body: empty means `{}`. */
export async function optionalJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  return validate(schema, text.trim() ? parseJson(text) : {});
}
