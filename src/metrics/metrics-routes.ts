// GET /metrics: the Prometheus text format of every isolate's counts, for admin keys only.
import { Hono } from 'hono';
import { requireConsumer } from '../auth';
import { InferenceError } from '../runtime/errors';
import { metricTotals } from '../serving';
import { CONTENT_TYPE, exposition } from './exposition';

export const metricsRoutes = new Hono<{ Bindings: Env }>().use(requireConsumer()).get('/', async (c) => {
  if (!c.var.consumer.admin) throw new InferenceError(403, `consumer '${c.var.consumer.id}' may not read the metrics (an admin key may)`);
  const { series, versions } = await metricTotals(c.env);
  return c.body(exposition(series, versions), 200, { 'Content-Type': CONTENT_TYPE });
});
