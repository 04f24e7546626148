// Compression as Triton's clients expect it: only inference answers may go out compressed.

/**
 * workerd and Cloudflare's edge compress JSON for any client that accepts it, but tritonclient reads
 * only inference answers compressed: everything else, errors above all, goes out as written.
 */
export function plainUnlessInference(request: Request, response: Response): Response {
  if (response.ok && request.method === 'POST' && request.url.split('?', 1)[0]!.endsWith('/infer')) return response;
  response.headers.set('Content-Encoding', 'identity'); // workerd
  // Cloudflare's edge; added to a route's own directives (a ticket's no-store), never in place of them.
  const cache = response.headers.get('Cache-Control');
  if (!cache?.includes('no-transform')) response.headers.set('Cache-Control', cache ? `${cache}, no-transform` : 'no-transform');
  return response;
}
