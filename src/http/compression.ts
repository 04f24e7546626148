// Compression as Triton's clients expect it: only inference answers may go out compressed.

/**
 * workerd and Cloudflare's edge compress JSON for any client that accepts it, but tritonclient reads
 * only inference answers compressed: everything else, errors above all, goes out as written.
 */
export function plainUnlessInference(request: Request, response: Response): Response {
  if (response.ok && request.method === 'POST' && request.url.split('?', 1)[0]!.endsWith('/infer')) return response;
  response.headers.set('Content-Encoding', 'identity'); // workerd
  response.headers.set('Cache-Control', 'no-transform'); // Cloudflare's edge
  return response;
}
