// A sequence driven over one WebSocket to its object (the hibernation API). Each binary message is one chunk: the raw
// little-endian bytes of the model's streamed input; each answer is one binary message of the outputs' bytes, or one
// text message {"error": "...", "chunk": n}. Text messages carry control: {"type": "start", ...} before the first
// chunk, {"type": "end"}. The socket's first chunk starts the sequence; an end message or the socket's close ends it and
// clears its state, as sequence_start and sequence_end do over HTTP. Chunks run through the object's own step (the same
// code as /infer); what the socket needs is kept in its attachment, so the object may hibernate between chunks.
import { z } from 'zod';
import { metrics } from '../metrics/recorder';
import { sampleShape } from '../runtime/binary-body';
import { concatBytes } from '../runtime/bytes';
import { DATATYPES, isDatatype, type DatatypeName } from '../runtime/datatypes';
import { InferenceError, badRequest } from '../runtime/errors';
import type { InferenceResult } from '../runtime/inference';
import { describeIssues, parseJson, requestInputSchema, type InferenceRequest, type RequestInput } from '../runtime/protocol';
import { publicTensors } from '../runtime/sequence-batching';
import { dataPlane, flushStats } from '../serving';
import type { SequenceCall } from './sequence-types';
import { TicketStore, type TicketGrant } from './sequence-tickets';

/** The largest binary message (one chunk), checked before anything is decoded; the isolate has 128 MB. */
export const MAX_CHUNK_BYTES = 1024 * 1024;
/** The largest text message (control). */
export const MAX_TEXT_CHARS = 16 * 1024;
/**
 * Messages the client may have sent and not yet had answered: past either bound it is refused and the socket closed. A
 * safety net: locally workerd hands the object a socket's next message only as the previous one's work goes on (at most
 * 2 were seen pending with 400 sent at once), so what a client sends ahead waits in the runtime, not in this heap.
 */
export const MAX_PENDING_MESSAGES = 256;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** An attachment keeps at most 2 KiB (structured clone): what a socket keeps must fit with room to spare. */
const MAX_ATTACHMENT_CHARS = 1536;

/** Close codes: 1000 ended, 1008 too many unanswered messages, 1009 a message too big, 4000 taken over by a newer stream. */
const CLOSE = { ended: 1000, policy: 1008, tooBig: 1009, superseded: 4000 } as const;

/** What the Worker's stream route tells the object, in this header, after checking the ticket's form. */
export const STREAM_CLAIM = 'X-Sequence-Stream';
export interface StreamClaim {
  model: string;
  sequenceId: string;
  secret: string;
  /** The Sec-WebSocket-Protocol entry that carried the ticket: the answer must name it. */
  protocol?: string;
}

/** How each chunk becomes a request: fixed when the stream starts, kept with the socket. */
interface Layout {
  version: string;
  input: { name: string; datatype: DatatypeName; shape: number[] };
  /** The model's other inputs: the same values with every chunk (silero-vad's `sr`). */
  constants: RequestInput[];
  /** The outputs answered, in this order; all of the model's (public ones) when not given. */
  outputs?: string[];
}

interface Attachment extends TicketGrant {
  layout?: Layout;
  /** Binary messages received, answered with a result, and whether this socket has started the sequence. */
  received: number;
  answered: number;
  started: boolean;
  /** No message is taken any more: the stream ended, was refused, or a newer one took over (superseded). */
  ended: boolean;
  superseded?: boolean;
}

const startSchema = z.strictObject({
  type: z.literal('start'),
  inputs: z.array(requestInputSchema).max(16).optional(),
  outputs: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
  shape: z.array(z.int().min(-1)).min(1).max(8).optional(),
});
const controlSchema = z.discriminatedUnion('type', [startSchema, z.strictObject({ type: z.literal('end') })]);
type Start = z.infer<typeof startSchema>;

/** What the socket needs from its object: its queue, and its step and end, which only run inside the queue. */
export interface SequenceHost {
  serial<T>(work: () => Promise<T>): Promise<T>;
  step(call: SequenceCall): Promise<InferenceResult>;
  end(): Promise<void>;
}

const list = (names: string[]) => names.map((n) => `'${n}'`).join(', ');
const errorText = (message: string, chunk?: number) => JSON.stringify({ error: message, ...(chunk !== undefined && { chunk }) });

export class SequenceSockets {
  readonly #ctx: DurableObjectState;
  readonly #env: Env;
  readonly #host: SequenceHost;
  readonly #tickets: TicketStore;
  /** Unanswered messages and their bytes, per socket (memory only: the object does not hibernate while any is pending). */
  readonly #pending = new Map<WebSocket, { messages: number; bytes: number }>();

  constructor(ctx: DurableObjectState, env: Env, host: SequenceHost) {
    this.#ctx = ctx;
    this.#env = env;
    this.#host = host;
    this.#tickets = new TicketStore(ctx.storage.sql);
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  get tickets(): TicketStore {
    return this.#tickets;
  }

  /** The object's fetch: a WebSocket upgrade that presents a ticket of this sequence, or a 401 before any upgrade. */
  async upgrade(request: Request): Promise<Response> {
    let claim: StreamClaim;
    try {
      claim = JSON.parse(request.headers.get(STREAM_CLAIM) ?? '') as StreamClaim;
    } catch {
      return Response.json({ error: 'this object only opens streams through /v2/models/{name}/sequences/{id}/stream' }, { status: 400 });
    }
    const grant = await this.#tickets.consume(claim.secret);
    if (!grant || grant.model !== claim.model || grant.sequenceId !== claim.sequenceId) {
      return Response.json({ error: 'invalid ticket: unknown, already used, expired, or issued for another sequence' }, { status: 401 });
    }
    // One stream drives a sequence at a time: a newer one takes over, and the older one leaves the state alone.
    for (const older of this.#ctx.getWebSockets()) {
      this.#patch(older, { ended: true, superseded: true });
      this.#close(older, CLOSE.superseded, 'a newer stream took over this sequence');
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.#ctx.acceptWebSocket(server);
    const attachment: Attachment = { ...grant, received: 0, answered: 0, started: false, ended: false };
    server.serializeAttachment(attachment);
    const headers: HeadersInit = claim.protocol ? { 'Sec-WebSocket-Protocol': claim.protocol } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** One message: its size is checked at once, then it waits its turn in the object's queue. */
  message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> | void {
    const attachment = this.#read(ws);
    if (!attachment || attachment.ended) return;
    const size = typeof message === 'string' ? message.length : message.byteLength;
    if (typeof message === 'string' && size > MAX_TEXT_CHARS) return this.#refuse(ws, `text message of ${size} characters; control messages take at most ${MAX_TEXT_CHARS}`, CLOSE.tooBig);
    if (typeof message !== 'string' && size > MAX_CHUNK_BYTES) return this.#refuse(ws, `binary message of ${size} bytes; a chunk takes at most ${MAX_CHUNK_BYTES}`, CLOSE.tooBig);
    const pending = this.#pending.get(ws) ?? { messages: 0, bytes: 0 };
    if (pending.messages >= MAX_PENDING_MESSAGES || pending.bytes + size > MAX_PENDING_BYTES) {
      return this.#refuse(ws, `more than ${MAX_PENDING_MESSAGES} messages or ${MAX_PENDING_BYTES >> 20} MiB unanswered; wait for answers before sending more`, CLOSE.policy);
    }
    pending.messages++;
    pending.bytes += size;
    this.#pending.set(ws, pending);
    const work = typeof message === 'string' ? control(message) : undefined;
    if (work === 'end') this.#patch(ws, { ended: true }); // nothing after an end message is taken
    return this.#host
      .serial(async () => {
        try {
          if (work === 'end') return await this.#finish(ws, CLOSE.ended, 'sequence ended');
          if (typeof message === 'string') return await this.#start(ws, work!);
          await this.#chunk(ws, new Uint8Array(message));
        } catch (error) {
          console.error(error);
          this.#send(ws, errorText(`internal error: ${String(error).slice(0, 300)}`));
        } finally {
          pending.messages--;
          pending.bytes -= size;
          if (!pending.messages) this.#pending.delete(ws);
        }
      })
      .finally(() => this.#ctx.waitUntil(flushStats(this.#env, 1000).catch(console.error)));
  }

  /** The client closed the socket, or it failed: the sequence ends, once the chunks already sent have run. */
  closed(ws: WebSocket, code?: number, reason = ''): Promise<void> | void {
    // Completes the closing handshake (a no-op where the runtime has answered the client's close already).
    this.#close(ws, code === undefined || code === 1005 || code === 1006 ? CLOSE.ended : code, reason);
    const attachment = this.#read(ws);
    if (!attachment || attachment.ended) return;
    this.#patch(ws, { ended: true });
    return this.#host.serial(() => this.#endSequence(ws, attachment));
  }

  /** The sequence expired idle (the alarm cleared it): its streams close. */
  expired(idleSeconds: number): void {
    for (const ws of this.#ctx.getWebSockets()) {
      this.#patch(ws, { ended: true });
      this.#send(ws, errorText(`sequence expired: no chunk for ${idleSeconds} s`));
      this.#close(ws, CLOSE.ended, 'sequence expired');
    }
  }

  async #start(ws: WebSocket, start: Start | Error): Promise<void> {
    const attachment = this.#read(ws);
    if (!attachment || attachment.ended) return;
    try {
      if (start instanceof Error) throw start;
      if (attachment.started) throw badRequest('the start message must come before the first chunk');
      const layout = await this.#layout(attachment, start);
      this.#patch(ws, { layout });
      this.#send(ws, JSON.stringify({ type: 'ready', model: attachment.model, model_version: layout.version, input: layout.input, outputs: layout.outputs ?? null }));
    } catch (error) {
      if (!(error instanceof InferenceError)) throw error;
      this.#send(ws, errorText(error.message));
    }
  }

  async #chunk(ws: WebSocket, bytes: Uint8Array): Promise<void> {
    const attachment = this.#read(ws);
    if (!attachment || attachment.ended) return;
    const chunk = attachment.received;
    this.#patch(ws, { received: chunk + 1 });
    try {
      let { layout } = attachment;
      if (!layout) {
        layout = await this.#layout(attachment, undefined);
        this.#patch(ws, { layout });
      }
      const result = await this.#host.step({
        model: attachment.model,
        version: layout.version,
        sequenceId: attachment.sequenceId,
        start: !attachment.started,
        end: false,
        request: chunkRequest(layout, bytes),
        binary: [bytes],
      });
      if (!attachment.started) metrics.add('edge_sequences_started_total', { model: attachment.model });
      this.#patch(ws, { started: true, answered: attachment.answered + 1 });
      this.#send(ws, result.binary.length === 1 ? result.binary[0]! : concatBytes(result.binary));
    } catch (error) {
      if (!(error instanceof InferenceError)) throw error;
      this.#send(ws, errorText(error.message, chunk));
    }
  }

  /** Fixes how chunks become requests: the streamed input is the one the start message does not give. */
  async #layout(attachment: Attachment, start: Start | undefined): Promise<Layout> {
    const model = await dataPlane(this.#env).describe(attachment.model, attachment.version);
    const { inputs, outputs } = publicTensors(model);
    const constants = start?.inputs ?? [];
    for (const [i, given] of constants.entries()) {
      if (!inputs.some((s) => s.name === given.name)) throw badRequest(`start.inputs[${i}]: unknown input '${given.name}'; model '${model.name}' takes ${list(inputs.map((s) => s.name))}`);
      if (constants.findIndex((c) => c.name === given.name) !== i) throw badRequest(`start.inputs[${i}]: input '${given.name}' is given twice`);
      if (given.data === undefined) throw badRequest(`start.inputs[${i}]: input '${given.name}' needs its data`);
    }
    const streamed = inputs.filter((s) => !constants.some((c) => c.name === s.name));
    if (streamed.length !== 1) {
      throw badRequest(
        `model '${model.name}' takes ${list(inputs.map((s) => s.name))}: the chunks carry one of them, so a start message ` +
          `({"type": "start", "inputs": [...]}) must give every other one${streamed.length ? ` (missing: ${list(streamed.slice(1).map((s) => s.name))} or ${list([streamed[0]!.name])})` : ''}`,
      );
    }
    const spec = streamed[0]!;
    if (!isDatatype(spec.datatype) || spec.datatype === 'BYTES') throw badRequest(`input '${spec.name}' is ${spec.datatype}: only fixed-size datatypes can be streamed as raw bytes`);
    const shape = start?.shape ?? sampleShape(spec.shape);
    const fits = shape.length === spec.shape.length && shape.every((d, i) => d === -1 || spec.shape[i] === -1 || spec.shape[i] === d);
    if (!fits || shape.indexOf(-1) !== shape.lastIndexOf(-1)) {
      throw badRequest(
        `input '${spec.name}' has shape [${spec.shape.join(', ')}]: give start.shape, that shape with at most one -1 (filled from each chunk's size)${start?.shape ? `, not [${shape.join(', ')}]` : ''}`,
      );
    }
    for (const [i, name] of (start?.outputs ?? []).entries()) {
      if (!outputs.some((s) => s.name === name)) throw badRequest(`start.outputs[${i}]: unknown output '${name}'; model '${model.name}' produces ${list(outputs.map((s) => s.name))}`);
    }
    const layout: Layout = { version: model.version, input: { name: spec.name, datatype: spec.datatype, shape }, constants, ...(start?.outputs && { outputs: start.outputs }) };
    const kept = JSON.stringify({ ...attachment, layout }).length;
    if (kept > MAX_ATTACHMENT_CHARS) throw badRequest(`the start message is too large to keep with the socket (${kept} characters of state, at most ${MAX_ATTACHMENT_CHARS}): send small constant inputs`);
    return layout;
  }

  /** Ends the stream: the sequence (if this socket started it and still drives it), then the socket. */
  async #finish(ws: WebSocket, code: number, reason: string): Promise<void> {
    const attachment = this.#read(ws);
    if (!attachment) return;
    await this.#endSequence(ws, attachment);
    this.#send(ws, JSON.stringify({ type: 'end', chunks: attachment.answered }));
    this.#close(ws, code, reason);
  }

  async #endSequence(ws: WebSocket, fallback: Attachment): Promise<void> {
    // Read again: chunks queued before the close may have started the sequence meanwhile.
    const attachment = this.#read(ws) ?? fallback;
    if (!attachment.started || attachment.superseded) return;
    this.#patch(ws, { started: false });
    await this.#host.end();
    metrics.add('edge_sequences_ended_total', { model: attachment.model });
  }

  /** Too big or too many: an error message, then the socket closes and the sequence ends. */
  #refuse(ws: WebSocket, message: string, code: number): Promise<void> {
    const attachment = this.#read(ws)!;
    this.#patch(ws, { ended: true });
    this.#send(ws, errorText(message));
    this.#close(ws, code, code === CLOSE.tooBig ? 'message too big' : 'too many unanswered messages');
    return this.#host.serial(() => this.#endSequence(ws, attachment));
  }

  #read(ws: WebSocket): Attachment | undefined {
    try {
      return (ws.deserializeAttachment() as Attachment | null) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Read, change, write in one synchronous step, so that no queued work writes back an older copy. */
  #patch(ws: WebSocket, change: Partial<Attachment>): void {
    const attachment = this.#read(ws);
    if (attachment) ws.serializeAttachment({ ...attachment, ...change });
  }

  #send(ws: WebSocket, message: string | Uint8Array): void {
    try {
      ws.send(message);
    } catch {
      // The client has gone: nothing to tell it.
    }
  }

  #close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }
}

/** A control message: 'end', or a validated start; a malformed one is answered with an error and changes nothing. */
function control(text: string): Start | 'end' | Error {
  try {
    const result = controlSchema.safeParse(parseJson(text, 'control message'));
    if (!result.success) throw badRequest(`control message: ${describeIssues(result.error)}; send {"type": "start", ...} or {"type": "end"}`);
    return result.data.type === 'end' ? 'end' : result.data;
  } catch (error) {
    return error as Error;
  }
}

/** One chunk as a binary-extension request: the streamed input from the bytes, the constants as JSON, outputs as bytes. */
export function chunkRequest(layout: Layout, bytes: Uint8Array): InferenceRequest {
  const { name, datatype, shape: template } = layout.input;
  const size = DATATYPES[datatype].size;
  const known = template.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const elements = bytes.byteLength / size;
  const free = template.indexOf(-1);
  const shape = [...template];
  if (free >= 0) shape[free] = elements / known;
  if (!bytes.byteLength || !Number.isInteger(elements) || !Number.isInteger(shape[free] ?? 0) || (free < 0 && elements !== known)) {
    throw badRequest(
      `a chunk of ${bytes.byteLength} bytes is not ${free >= 0 ? 'a whole number of' : 'exactly'} ${known} ${datatype} elements (${known * size} bytes) of input '${name}' [${template.join(', ')}]`,
    );
  }
  return {
    inputs: [{ name, datatype, shape, parameters: { binary_data_size: bytes.byteLength } }, ...layout.constants],
    ...(layout.outputs ? { outputs: layout.outputs.map((output) => ({ name: output, parameters: { binary_data: true } })) } : { parameters: { binary_data_output: true } }),
  };
}
