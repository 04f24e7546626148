// Session URLs: create, inspect, list and end sessions; recommend, try again, and give feedback.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { limitBody, optionalJson, requestLimit } from '../http/body';
import { metrics } from '../metrics/recorder';
import { badRequest, notFound } from '../runtime/errors';
import { randomId } from '../runtime/ids';
import { checkModelName, checkVersion } from '../runtime/model-repository';
import { unwrap } from '../runtime/outcome';
import { acquirePlace, releasePlace } from '../consumers/limits';
import { dataPlane } from '../serving';
import { indexStub } from './session-index-object';
import { MAX_RATINGS, MAX_SEEN, sessionStub } from './session-object';
import { feedbackSchema, itemIdSchema, ratingSchema } from './session-types';

type Ctx = Context<{ Bindings: Env }>;

export const createSchema = z.object({
  model: z.string().min(1),
  version: z.string().optional(),
  context: z
    .object({
      ratings: z.array(ratingSchema).max(MAX_RATINGS).default([]),
      exclude: z.array(itemIdSchema).max(MAX_SEEN - MAX_RATINGS).default([]),
    })
    .default({ ratings: [], exclude: [] }),
});
export const recommendSchema = z.object({ k: z.int().min(1).max(50).default(1) });

const SESSION_ID = /^[0-9a-f]{32}$/;

function sessionOf(c: Ctx) {
  const id = c.req.param('id')!;
  if (!SESSION_ID.test(id)) throw notFound('session not found: it never existed, was deleted, or expired after being idle');
  return sessionStub(c.env, c.var.consumer.id, id);
}

export const sessionRoutes = new Hono<{ Bindings: Env }>()
  .use(limitBody(requestLimit))
  .post('/', async (c) => {
    const body = await optionalJson(c, createSchema);
    // A model that cannot load fails here, before an object exists.
    const version = await dataPlane(c.env).describe(checkModelName(body.model), checkVersion(body.version));
    const session = version.config.session;
    if (!session) throw badRequest(`model '${version.name}' does not support sessions (its config declares no "session")`);
    const id = randomId(); // unguessable
    const consumer = c.var.consumer.id;
    // A place among the consumer's open sessions first; a session that fails to start gives it back.
    await acquirePlace(c.env, c.var.consumer, 'session', id);
    const started = await sessionStub(c.env, consumer, id).start({
      id,
      consumer,
      model: version.name,
      version: version.version,
      idleTimeoutSeconds: session.idle_timeout_seconds,
      ratings: body.context.ratings,
      exclude: body.context.exclude,
    }).catch(async (error: unknown) => {
      await releasePlace(c.env, consumer, 'session', id);
      throw error;
    });
    if (!started.ok) await releasePlace(c.env, consumer, 'session', id);
    const summary = unwrap(started);
    await indexStub(c.env, consumer).add({ id, model: summary.model, model_version: summary.model_version, created_at: summary.created_at });
    metrics.add('edge_sessions_started_total', { model: summary.model });
    return c.json({ ...summary, url: `/v2/sessions/${id}` }, 201, { Location: `/v2/sessions/${id}`, 'Model-Version': summary.model_version });
  })
  .get('/', async (c) => c.json({ sessions: await indexStub(c.env, c.var.consumer.id).list() }))
  .get('/:id', async (c) => {
    const summary = unwrap(await sessionOf(c).summary());
    return c.json(summary, 200, { 'Model-Version': summary.model_version });
  })
  .delete('/:id', async (c) => {
    unwrap(await sessionOf(c).end());
    metrics.add('edge_sessions_ended_total');
    return c.body(null, 204);
  })
  .post('/:id/recommend', async (c) => answer(c, false))
  .post('/:id/try-again', async (c) => answer(c, true))
  .post('/:id/feedback', async (c) => {
    const feedback = await optionalJson(c, feedbackSchema);
    return c.json(unwrap(await sessionOf(c).feedback(feedback)));
  });

async function answer(c: Ctx, tryAgain: boolean) {
  const { k } = await optionalJson(c, recommendSchema);
  const result = unwrap(await sessionOf(c).recommend(k, tryAgain));
  return c.json(result, 200, { 'Model-Version': result.model_version });
}
