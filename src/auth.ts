// Consumers authenticate with `Authorization: Bearer <key>`; only SHA-256 hashes of keys are configured.
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { InferenceError } from './runtime/errors';
import { sha256Hex } from './runtime/ids';

export interface Consumer {
  id: string;
  /** May change the model repository. */
  admin: boolean;
}

declare module 'hono' {
  interface ContextVariableMap {
    consumer: Consumer;
  }
}

const keysSchema = z.record(
  z.string().regex(/^[0-9a-f]{64}$/, 'keys must be lowercase hex SHA-256 hashes'),
  z.object({ consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), admin: z.boolean().default(false) }),
);

let parsed: { source: string; keys: Map<string, Consumer> } | undefined;
/** Keys already hashed in this isolate, so a hot path pays for SHA-256 once per key, not per request. */
const hashed = new Map<string, string>();
const HASHED_LIMIT = 1024;
const MAX_KEY_LENGTH = 256;

function keyTable(source: string | undefined): Map<string, Consumer> {
  if (parsed?.source !== (source ?? '')) {
    let raw: unknown;
    try {
      raw = JSON.parse(source || '{}');
    } catch {
      raw = undefined;
    }
    const result = keysSchema.safeParse(raw);
    // A broken key table is the operator's error, never the consumer's: fail closed with a 500.
    if (!result.success) throw new InferenceError(500, 'server misconfigured: CONSUMER_KEYS is not a valid key table');
    const keys = new Map(Object.entries(result.data).map(([hash, c]) => [hash, { id: c.consumer, admin: c.admin }]));
    parsed = { source: source ?? '', keys };
    return keys;
  }
  return parsed.keys;
}

const unauthorized = (message: string) => new InferenceError(401, message);

export function requireConsumer(): MiddlewareHandler<{ Bindings: Env }> {
  return async function requireConsumer(c, next) {
    const header = c.req.header('authorization');
    const key = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!key) throw unauthorized('missing Authorization: Bearer <key> header');
    if (key.length > MAX_KEY_LENGTH) throw unauthorized(`invalid API key: longer than ${MAX_KEY_LENGTH} characters`);
    const hash = hashed.get(key) ?? (await sha256Hex(key));
    const consumer = keyTable(c.env.CONSUMER_KEYS).get(hash);
    if (!consumer) throw unauthorized('invalid API key');
    // Only valid keys are remembered, so made-up keys cannot fill the isolate's memory.
    if (!hashed.has(key)) {
      if (hashed.size >= HASHED_LIMIT) hashed.clear();
      hashed.set(key, hash);
    }
    c.set('consumer', consumer);
    await next();
  };
}

export function requireAdmin(): MiddlewareHandler<{ Bindings: Env }> {
  return async function requireAdmin(c, next) {
    if (!c.var.consumer.admin) throw new InferenceError(403, `consumer '${c.var.consumer.id}' may not change the model repository`);
    await next();
  };
}
