// Wires the Worker: error mapping, authentication, and the route groups.
import { Hono } from 'hono';
import { requireConsumer } from './auth';
import { batchRoutes } from './batch/batch-routes';
import { queue } from './batch/queue';
import { modelRoutes } from './online/model-routes';
import { repositoryRoutes } from './online/repository-routes';
import { healthRoutes, serverRoutes } from './online/server-routes';
import { InferenceError } from './runtime/errors';
import { runSequence } from './sessions/sequence';
import { sessionRoutes } from './sessions/session-routes';
import { flushStats, handOnStats } from './serving';
import { plainUnlessInference } from './http/compression';

const app = new Hono<{ Bindings: Env }>();

app.onError((error, c) => {
  if (error instanceof InferenceError) return c.json({ error: error.message }, error.status);
  console.error(error);
  return c.json({ error: `internal error: ${error.message}` }, 500);
});
app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

app.route('/v2', healthRoutes);
app.use('/v2/*', requireConsumer());
app.use('/v2', requireConsumer());
app.route('/v2', serverRoutes);
app.route('/v2/models', modelRoutes(runSequence));
app.route('/v2/repository', repositoryRoutes);
app.route('/v2/sessions', sessionRoutes);
app.route('/v2/batches', batchRoutes);

export default {
  // An error that escapes Hono (thrown by the runtime itself) still answers the protocol's JSON.
  async fetch(request, env, ctx) {
    let response: Response;
    try {
      response = await app.fetch(request, env, ctx);
    } catch (error) {
      console.error(error);
      response = Response.json({ error: `internal error: ${String(error).slice(0, 300)}` }, { status: 500 });
    }
    handOnStats(env, ctx);
    return plainUnlessInference(request, response);
  },
  async queue(batch, env) {
    await queue(batch, env);
    await flushStats(env).catch(console.error); // no one waits on a queue batch's answer
  },
} satisfies ExportedHandler<Env>;
export { JobObject } from './batch/job-object';
export { SequenceObject } from './sessions/sequence-object';
export { SessionIndexObject } from './sessions/session-index-object';
export { SessionObject } from './sessions/session-object';
export { StatsObject } from './stats/stats-object';
