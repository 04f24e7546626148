// Streaming a sequence over one WebSocket: an authenticated POST issues a ticket, and the upgrade that presents it
// (browsers cannot set Authorization on a WebSocket) is handed to the sequence's object. The key never goes in a URL.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { InferenceError, badRequest } from '../runtime/errors';
import { checkVersion } from '../runtime/model-repository';
import { sequenceSpecOf } from '../runtime/sequence-batching';
import { sequenceFlags } from '../runtime/sequence-flags';
import { unwrap } from '../runtime/outcome';
import { dataPlane } from '../serving';
import { sequenceStub } from './sequence-object';
import { STREAM_CLAIM, type StreamClaim } from './sequence-socket';
import { parseTicket } from './sequence-tickets';

type Ctx = Context<{ Bindings: Env }>;

export const ticketSchema = z.object({
  ticket: z.string().describe('Opens one stream of this sequence, once, before expires_at'),
  url: z.string().describe('The stream URL with the ticket in its query (ws: or wss:)'),
  expires_at: z.string().describe('ISO 8601'),
});

/** The Sec-WebSocket-Protocol entry that carries a ticket instead of the query: `ticket.<ticket>`. */
export const TICKET_PROTOCOL = 'ticket.';

const unauthorized = (message: string) => new InferenceError(401, message);

/** A sequence id in a path is a string id (`7` here is the string "7": integer ids are for /infer). */
function sequenceIdOf(c: Ctx): string {
  return sequenceFlags({ sequence_id: c.req.param('sequence_id')! })!.sequenceId as string;
}

/** POST …/sequences/{sequence_id}/ticket (Authorization: Bearer): the ticket, bound to the caller, the model and the sequence. */
export const sequenceTicketRoutes = new Hono<{ Bindings: Env }>();
for (const prefix of ['/:name', '/:name/versions/:version']) {
  sequenceTicketRoutes.post(`${prefix}/sequences/:sequence_id/ticket`, async (c) => {
    const version = checkVersion(c.req.param('version'));
    const sequenceId = sequenceIdOf(c);
    const model = await dataPlane(c.env).describe(c.req.param('name')!, version);
    if (!sequenceSpecOf(model.config)) throw badRequest(`model '${model.name}' is not a sequence model (its config declares no sequence_batching)`);
    const consumer = c.var.consumer.id;
    const stub = sequenceStub(c.env, consumer, model.name, sequenceId);
    const issued = unwrap(await stub.issueTicket({ consumer, model: model.name, ...(version !== undefined && { version }), sequenceId }));
    const ticket = `${stub.id.toString()}.${issued.secret}`;
    const url = new URL(`/v2/models/${encodeURIComponent(model.name)}/sequences/${encodeURIComponent(sequenceId)}/stream`, c.req.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    const body: z.infer<typeof ticketSchema> = { ticket, url: url.toString(), expires_at: new Date(issued.expiresAt).toISOString() };
    return c.json(body, 201, { 'Cache-Control': 'no-store' });
  });
}

/** The ticket of an upgrade: `?ticket=`, or a `ticket.<ticket>` entry of Sec-WebSocket-Protocol (echoed in the answer). */
function presentedTicket(c: Ctx): { ticket: string; protocol?: string } | undefined {
  const query = c.req.query('ticket');
  if (query) return { ticket: query };
  const protocol = c.req
    .header('sec-websocket-protocol')
    ?.split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(TICKET_PROTOCOL));
  return protocol ? { ticket: protocol.slice(TICKET_PROTOCOL.length), protocol } : undefined;
}

/** GET …/sequences/{sequence_id}/stream (Upgrade: websocket): no key, the ticket authenticates; refused before any upgrade. */
export const sequenceStreamRoutes = new Hono<{ Bindings: Env }>();
sequenceStreamRoutes.get('/:name/sequences/:sequence_id/stream', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    return c.json({ error: 'this route opens a WebSocket (Upgrade: websocket); get a ticket from POST .../ticket first' }, 426, { Upgrade: 'websocket' });
  }
  const presented = presentedTicket(c);
  if (!presented) throw unauthorized('missing ticket: POST /v2/models/{name}/sequences/{sequence_id}/ticket with your key, then pass it as ?ticket= or as Sec-WebSocket-Protocol: ticket.<ticket>');
  const parsed = parseTicket(presented.ticket);
  if (!parsed) throw unauthorized('invalid ticket');
  let id: DurableObjectId;
  try {
    id = c.env.SEQUENCES.idFromString(parsed.objectId);
  } catch {
    throw unauthorized('invalid ticket');
  }
  const claim: StreamClaim = { model: c.req.param('name'), sequenceId: sequenceIdOf(c), secret: parsed.secret, ...(presented.protocol && { protocol: presented.protocol }) };
  const headers = new Headers(c.req.raw.headers);
  headers.set(STREAM_CLAIM, JSON.stringify(claim));
  const answer = await c.env.SEQUENCES.get(id).fetch(new Request(c.req.raw, { headers }));
  // A fetched response's headers cannot change; the request log and the Worker add theirs to this copy.
  if (answer.webSocket) return new Response(null, { status: 101, webSocket: answer.webSocket, headers: answer.headers });
  return new Response(answer.body, answer);
});
