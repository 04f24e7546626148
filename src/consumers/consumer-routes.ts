// Consumer administration (admins only): add a consumer and get its key once, list consumers, revoke one.
import { Hono } from 'hono';
import { z } from 'zod';
import { CONSUMER_ID, DEFAULT_TIER, TIER, dropConsumerCache, requireAdmin, secretConsumers } from '../auth';
import { limitBody, optionalJson, requestLimit } from '../http/body';
import { InferenceError, notFound } from '../runtime/errors';
import { unwrap } from '../runtime/outcome';
import { consumersStub, type ConsumerListing } from './consumers-object';
import { keyHash, newKey } from './keys';

export const createConsumerSchema = z.strictObject({
  consumer: z.string().regex(CONSUMER_ID, 'must be 1-64 letters, digits, "_" or "-"'),
  admin: z.boolean().default(false),
  tier: z.string().regex(TIER, 'must be 1-32 letters, digits, "_" or "-"').default(DEFAULT_TIER),
});

/** The bootstrap consumers, listed (never with their hashes). */
function bootstrap(env: Env): ConsumerListing[] {
  return [...secretConsumers(env.CONSUMER_KEYS).values()].map((c) => ({
    consumer: c.id,
    admin: c.admin,
    tier: c.tier,
    source: 'secret',
    created_at: null,
    revoked_at: null,
  }));
}

function refuseBootstrap(env: Env, id: string): void {
  if (bootstrap(env).some((c) => c.consumer === id)) {
    throw new InferenceError(409, `consumer '${id}' is a bootstrap consumer from the CONSUMER_KEYS secret; change it with \`npm run setup -- --rotate-admin\``);
  }
}

export const consumerRoutes = new Hono<{ Bindings: Env }>()
  .use(requireAdmin('manage consumers'))
  .use(limitBody(requestLimit))
  .post('/', async (c) => {
    const body = await optionalJson(c, createConsumerSchema);
    refuseBootstrap(c.env, body.consumer);
    const key = newKey();
    const added = unwrap(await consumersStub(c.env).add({ id: body.consumer, keyHash: await keyHash(key), admin: body.admin, tier: body.tier }));
    dropConsumerCache(); // this isolate sees the change at once; others within their cache time
    const url = `/v2/consumers/${added.consumer}`;
    return c.json({ ...added, key }, 201, { Location: url });
  })
  .get('/', async (c) => c.json({ consumers: [...bootstrap(c.env), ...(await consumersStub(c.env).list())] }))
  .delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!CONSUMER_ID.test(id)) throw notFound(`consumer '${id.slice(0, 80)}' not found`);
    refuseBootstrap(c.env, id);
    unwrap(await consumersStub(c.env).revoke(id));
    dropConsumerCache();
    return c.body(null, 204);
  });
