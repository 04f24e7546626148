// The HTTP API: error mapping, authentication, and the route groups.
import { Hono } from 'hono';
import { requireConsumer } from './auth';
import { batchRoutes } from './batch/batch-routes';
import { consumerRoutes } from './consumers/consumer-routes';
import { inferenceRateLimit } from './consumers/limits';
import { docsRoutes } from './docs/docs-routes';
import { requestLog } from './http/request-log';
import { metricsRoutes } from './metrics/metrics-routes';
import { modelRoutes } from './online/model-routes';
import { repositoryRoutes } from './online/repository-routes';
import { healthRoutes, serverRoutes } from './online/server-routes';
import { InferenceError } from './runtime/errors';
import { runSequence } from './sessions/sequence';
import { sequenceStreamRoutes, sequenceTicketRoutes } from './sessions/sequence-stream-routes';
import { sessionRoutes } from './sessions/session-routes';

export const app = new Hono<{ Bindings: Env }>();

app.onError((error, c) => {
  if (error instanceof InferenceError) {
    const headers = error.retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(error.retryAfterSeconds) };
    return c.json({ error: error.message }, error.status, headers);
  }
  console.error(error);
  return c.json({ error: `internal error: ${error.message}` }, 500);
});
app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

app.use(requestLog());
app.route('/', docsRoutes);
app.route('/v2', healthRoutes);
// A browser cannot set Authorization on a WebSocket: the stream route takes a ticket instead of the key.
app.route('/v2/models', sequenceStreamRoutes);
app.use('/v2/*', requireConsumer());
app.use('/v2', requireConsumer());
// Inference calls count against the consumer's tier (after authentication, before any work).
const inferencePaths = ['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer', '/v2/sessions/:id/recommend', '/v2/sessions/:id/try-again'];
// A stream's ticket counts as one call: its chunks then go to the sequence's object without passing here.
const ticketPaths = ['/v2/models/:name/sequences/:sequence_id/ticket', '/v2/models/:name/versions/:version/sequences/:sequence_id/ticket'];
for (const path of [...inferencePaths, ...ticketPaths]) {
  app.use(path, inferenceRateLimit());
}
app.route('/v2', serverRoutes);
app.route('/v2/models', modelRoutes(runSequence));
app.route('/v2/models', sequenceTicketRoutes);
app.route('/v2/repository', repositoryRoutes);
app.route('/v2/sessions', sessionRoutes);
app.route('/v2/batches', batchRoutes);
app.route('/v2/consumers', consumerRoutes);
app.route('/metrics', metricsRoutes);
