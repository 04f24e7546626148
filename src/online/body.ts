// Request bodies: size limits enforced before reading, JSON parsing and validation with field-naming errors.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { InferenceError } from '../runtime/errors';
import { parseJson, validate } from '../runtime/protocol';

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

/** An optional JSON body: empty means `{}`. */
export async function optionalJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  return validate(schema, text.trim() ? parseJson(text) : {});
}
