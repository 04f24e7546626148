// Request bodies: size limits enforced before reading, JSON parsing and validation with field-naming errors.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { InferenceError } from '../runtime/errors';
import { parseJson, validate } from '../runtime/protocol';
import { inflate, readAtMost, TooLarge } from '../runtime/bytes';

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

/**
 * The request body, decompressed when sent with Content-Encoding gzip or deflate (as Triton's clients
 * can); the limit then holds for the decompressed bytes too.
 */
export async function readBody(c: Context, limit: number): Promise<ArrayBuffer> {
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (!encoding || encoding === 'identity' || !c.req.raw.body) return c.req.arrayBuffer();
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new InferenceError(415, `Content-Encoding '${encoding.slice(0, 40)}' is not supported: send gzip, deflate or identity`);
  }
  try {
    const body = await readAtMost(inflate(c.req.raw.body, encoding), limit);
    return body.buffer;
  } catch (error) {
    if (error instanceof TooLarge) throw new InferenceError(413, `decompressed request body exceeds the limit of ${limit} bytes`);
    throw new InferenceError(400, `request body is not valid ${encoding} data`);
  }
}

/** An optional JSON body: empty means `{}`. */
export async function optionalJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  return validate(schema, text.trim() ? parseJson(text) : {});
}
