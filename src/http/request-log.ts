// One structured JSON line per request, and the request id echoed (or made) in `X-Request-Id`.
// Lines carry who, which route and model, the status and the time: never keys, bodies or tensors.
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { metrics, recordRequest } from '../metrics/recorder';

/** Workers Analytics Engine, when the deployment binds one (see README): one data point per request. */
type WithAnalytics = Env & { ANALYTICS?: AnalyticsEngineDataset };

/** Writes without waiting (the runtime sends it after the answer); a sink that refuses it never fails the request. */
function analytics(env: WithAnalytics | undefined, point: AnalyticsEngineDataPoint): void {
  try {
    env?.ANALYTICS?.writeDataPoint(point);
  } catch (error) {
    console.error(error);
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(): MiddlewareHandler<{ Bindings: Env }> {
  return async function requestLog(c, next) {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    try {
      await next();
    } finally {
      // The last matched route is the handler's pattern (`/v2/models/:name/infer`), not this middleware's `*`.
      const route = routePath(c, -1);
      const params: Record<string, string | undefined> = route.includes(':') ? c.req.param() : {};
      const { method } = c.req;
      const { status, headers } = c.res;
      headers.set('X-Request-Id', id);
      const seconds = (performance.now() - started) / 1000;
      const modelVersion = headers.get('Model-Version') ?? undefined;
      const consumer = c.var.consumer?.id;
      // A metric's model label is a model this isolate resolved or that answered: never a made-up name from a path.
      const model = params.name && (modelVersion !== undefined || metrics.knows(params.name)) ? params.name : '';
      recordRequest(route, method, status, model, seconds);
      analytics(c.env as WithAnalytics | undefined, {
        indexes: [model || route],
        blobs: [route, method, model, modelVersion ?? '', consumer ?? '', String(status)],
        doubles: [seconds * 1000, status],
      });
      // Fields left undefined are left out of the line by JSON.stringify.
      console.log(
        JSON.stringify({
          at: new Date().toISOString(),
          request_id: id,
          method,
          route,
          model: params.name || undefined,
          version: params.version || undefined,
          model_version: modelVersion || undefined,
          consumer,
          status,
          duration_ms: Math.round(seconds * 1e6) / 1000,
        }),
      );
    }
  };
}
