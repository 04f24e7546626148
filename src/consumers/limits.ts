// Per-tier limits: inference calls per minute through the Workers rate-limiting binding of the consumer's tier,
// and caps on what a consumer holds at once (open sessions, active batch jobs). Beyond them: 429 with Retry-After.
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { InferenceError } from '../runtime/errors';
import { quotaStub, type Held } from './quota-object';

const tierLimitsSchema = z.record(z.string(), z.object({ open_sessions: z.int().nonnegative(), active_jobs: z.int().nonnegative() }));
type Caps = z.infer<typeof tierLimitsSchema>[string];

let parsed: { source: string; tiers: Record<string, Caps> } | undefined;

/** A tier's caps; a tier TIER_LIMITS does not list gets "standard"'s. */
export function tierCaps(env: Env, tier: string): Caps {
  if (parsed?.source !== env.TIER_LIMITS) {
    const result = tierLimitsSchema.safeParse(JSON.parse(env.TIER_LIMITS));
    if (!result.success || !result.data.standard) throw new InferenceError(500, 'server misconfigured: TIER_LIMITS needs valid limits for at least "standard"');
    parsed = { source: env.TIER_LIMITS, tiers: result.data };
  }
  return parsed.tiers[tier] ?? parsed.tiers.standard!;
}

/** The binding's window: a refused call may try again after at most this long. */
const RATE_PERIOD_SECONDS = 60;

/** Counts one inference call against the consumer's tier (RATE_LIMIT_<TIER>); a tier without a binding is not limited. */
export function inferenceRateLimit(): MiddlewareHandler<{ Bindings: Env }> {
  return async function inferenceRateLimit(c, next) {
    const { id, tier } = c.var.consumer;
    const limiter = (c.env as unknown as Record<string, RateLimit | undefined>)[`RATE_LIMIT_${tier.toUpperCase()}`];
    if (limiter && !(await limiter.limit({ key: id })).success) {
      throw new InferenceError(429, `rate limit: consumer '${id}' (tier '${tier}') made more inference calls this minute than its tier allows`, RATE_PERIOD_SECONDS);
    }
    await next();
  };
}

/** Seconds after which a consumer at its cap may try again: a session or job usually ends by then. */
const CAP_RETRY_SECONDS = 30;

/** Takes one of the consumer's places of `kind`, or refuses with 429 when its tier's cap is reached. */
export async function acquirePlace(env: Env, consumer: { id: string; tier: string }, kind: Held, id: string): Promise<void> {
  const caps = tierCaps(env, consumer.tier);
  const max = kind === 'session' ? caps.open_sessions : caps.active_jobs;
  const { ok, held } = await quotaStub(env, consumer.id).acquire(kind, id, max);
  if (!ok) {
    const what = kind === 'session' ? 'open sessions' : 'queued or running batch jobs';
    throw new InferenceError(429, `consumer '${consumer.id}' (tier '${consumer.tier}') has ${held} ${what}, the most its tier allows; end one or retry later`, CAP_RETRY_SECONDS);
  }
}

export const releasePlace = (env: Env, consumer: string, kind: Held, id: string) => quotaStub(env, consumer).release(kind, id);
