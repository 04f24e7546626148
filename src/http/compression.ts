// Compression as Triton's clients expect it: only inference answers may go out compressed.
import type { MiddlewareHandler } from 'hono';

/**
 * workerd and Cloudflare's edge compress JSON for any client that accepts it, but tritonclient reads
 * only inference answers compressed: everything else, errors above all, goes out as written.
 */
export function plainUnlessInference(): MiddlewareHandler {
  return async function plainUnlessInference(c, next) {
    await next();
    if (c.res.ok && c.req.method === 'POST' && c.req.path.endsWith('/infer')) return;
    c.header('Content-Encoding', 'identity'); // workerd
    c.header('Cache-Control', 'no-transform'); // Cloudflare's edge
  };
}
