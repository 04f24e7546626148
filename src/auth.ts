// Consumers authenticate with `Authorization: Bearer <key>`; only SHA-256 hashes of keys are configured.
// Two sources: the CONSUMER_KEYS secret (the bootstrap admins; write-only, changed by redeploying it) and the
// consumer registry (src/consumers), which admins change at run time. Each isolate caches the registry's active
// consumers for at most CONSUMER_CACHE_SECONDS (≤ 30), so a revocation takes effect everywhere within that time.
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { consumersStub } from './consumers/consumers-object';
import { InferenceError } from './runtime/errors';
import { sha256Hex } from './runtime/ids';

export interface Consumer {
  id: string;
  /** May change the model repository and the consumers. */
  admin: boolean;
  /** The consumer's tier (for limits): "standard" unless set. */
  tier: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    consumer: Consumer;
  }
}

export const CONSUMER_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const TIER = /^[A-Za-z0-9_-]{1,32}$/;
export const DEFAULT_TIER = 'standard';

const keysSchema = z.record(
  z.string().regex(/^[0-9a-f]{64}$/, 'keys must be lowercase hex SHA-256 hashes'),
  z.object({ consumer: z.string().regex(CONSUMER_ID), admin: z.boolean().default(false), tier: z.string().regex(TIER).default(DEFAULT_TIER) }),
);

let parsed: { source: string; keys: Map<string, Consumer> } | undefined;
/** Keys already hashed in this isolate, so a hot path pays for SHA-256 once per key, not per request. */
const hashed = new Map<string, string>();
const HASHED_LIMIT = 1024;
const MAX_KEY_LENGTH = 256;

/** The bootstrap consumers of the CONSUMER_KEYS secret, by key hash. */
export function secretConsumers(source: string | undefined): Map<string, Consumer> {
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
    const keys = new Map(Object.entries(result.data).map(([hash, c]) => [hash, { id: c.consumer, admin: c.admin, tier: c.tier }]));
    parsed = { source: source ?? '', keys };
    return keys;
  }
  return parsed.keys;
}

// ---------- the registry, cached per isolate ----------

/**
 * The registry's active consumers as last read by this isolate, stamped with when that read started. Only finished
 * values are kept, never a pending read: a request must not wait on another request's I/O (workerd forbids it), so
 * each request that finds the snapshot stale reads for itself.
 */
let snapshot: { readAt: number; table: Map<string, Consumer> } | undefined;
/** An unknown key re-reads a snapshot older than this, so a new consumer's key works within seconds everywhere. */
const MISS_REFRESH_MS = 2_000;
const MAX_CACHE_SECONDS = 30;

function cacheMs(env: Env): number {
  const seconds = Number(env.CONSUMER_CACHE_SECONDS ?? MAX_CACHE_SECONDS);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_CACHE_SECONDS) * 1000 : MAX_CACHE_SECONDS * 1000;
}

async function registryConsumers(env: Env, maxAgeMs: number): Promise<Map<string, Consumer>> {
  if (snapshot && Date.now() - snapshot.readAt < maxAgeMs) return snapshot.table;
  const readAt = Date.now();
  let rows;
  try {
    rows = await consumersStub(env).active();
  } catch (error) {
    console.error(error);
    throw new InferenceError(503, 'consumer registry unavailable; try again');
  }
  const table = new Map(rows.map((c) => [c.hash, { id: c.id, admin: c.admin, tier: c.tier }]));
  // A slower read that started earlier never replaces a newer snapshot.
  if (!snapshot || snapshot.readAt <= readAt) snapshot = { readAt, table };
  return table;
}

/** Forgets this isolate's registry snapshot: after an admin's change here, and in tests. */
export function dropConsumerCache(): void {
  snapshot = undefined;
}

const unauthorized = (message: string) => new InferenceError(401, message);

export function requireConsumer(): MiddlewareHandler<{ Bindings: Env }> {
  return async function requireConsumer(c, next) {
    const header = c.req.header('authorization');
    const key = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!key) throw unauthorized('missing Authorization: Bearer <key> header');
    if (key.length > MAX_KEY_LENGTH) throw unauthorized(`invalid API key: longer than ${MAX_KEY_LENGTH} characters`);
    const hash = hashed.get(key) ?? (await sha256Hex(key));
    // The bootstrap secret first: it needs no I/O, and its admins work even when the registry cannot be read.
    let consumer = secretConsumers(c.env.CONSUMER_KEYS).get(hash);
    if (!consumer) {
      const ttl = cacheMs(c.env);
      consumer = (await registryConsumers(c.env, ttl)).get(hash) ?? (await registryConsumers(c.env, Math.min(ttl, MISS_REFRESH_MS))).get(hash);
    }
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

export function requireAdmin(what = 'change the model repository'): MiddlewareHandler<{ Bindings: Env }> {
  return async function requireAdmin(c, next) {
    if (!c.var.consumer.admin) throw new InferenceError(403, `consumer '${c.var.consumer.id}' may not ${what}`);
    await next();
  };
}
