// The API document and its interactive reference; both public, as API documents are.
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import { openApiDocument } from './openapi';

export const docsRoutes = new Hono<{ Bindings: Env }>()
  .get('/openapi.json', (c) => c.json(openApiDocument(c.env.SERVER_VERSION)))
  // Scalar's browser bundle is one of the Worker's static assets (copied by scripts/build-console.ts), not a CDN download.
  .get('/docs', Scalar({ url: '/openapi.json', cdn: '/app/scalar.js', pageTitle: 'edge-inference API' }));
