// Sequences streamed over one WebSocket to their object: the same outputs as over HTTP, tickets instead of keys, errors as frames.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Validator, type Schema } from '@cfworker/json-schema';
import { beforeAll, describe, expect, it } from 'vitest';
import sequenceModel from './fixtures/triton/simple_sequence/1/model.onnx';
import sequenceConfig from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import vad from './fixtures/vad-reference.json';
import { call, expectError, postJson, type KEYS } from './client';

const INFER = '/v2/models/silero-vad/infer';
const SR = { name: 'sr', datatype: 'INT64', shape: [], data: [vad.sample_rate] };
const START = JSON.stringify({ type: 'start', inputs: [SR] });
const bytes = (i: number) => Float32Array.from(vad.chunks[i % vad.chunks.length]!).buffer;

/** The HTTP path's probabilities for chunks from..from+n-1 of the fixture, as one sequence. */
async function overHttp(sequenceId: string, n: number, from = 0): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const response = await postJson(INFER, {
      parameters: { sequence_id: sequenceId, sequence_start: i === 0, sequence_end: i === n - 1 },
      inputs: [{ name: 'input', shape: [1, vad.chunk], datatype: 'FP32', data: vad.chunks[from + i] }, SR],
    });
    const body = (await response.json()) as any;
    if (response.status !== 200) throw new Error(JSON.stringify(body));
    out.push(body.outputs[0].data[0]);
  }
  return out;
}

interface Ticket {
  ticket: string;
  url: string;
  expires_at: string;
}

async function ticketFor(sequenceId: string, as: keyof typeof KEYS = 'alice', model = 'silero-vad'): Promise<Ticket> {
  const response = await call(`/v2/models/${model}/sequences/${encodeURIComponent(sequenceId)}/ticket`, { method: 'POST', as });
  const body = (await response.json()) as Ticket;
  if (response.status !== 201) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** The client end of one stream: every message in arrival order, and the close. */
class Stream {
  readonly #messages: (string | ArrayBuffer)[] = [];
  readonly #waiting: ((message: string | ArrayBuffer) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer'; // as a browser client would: the default is Blob
    ws.accept();
    ws.addEventListener('message', (event) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(event.data);
      else this.#messages.push(event.data);
    });
    this.closed = new Promise((resolve) => ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })));
  }

  next(): Promise<string | ArrayBuffer> {
    const message = this.#messages.shift();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async json(): Promise<any> {
    const message = await this.next();
    if (typeof message !== 'string') throw new Error(`expected a text message, got ${message.byteLength} bytes`);
    return JSON.parse(message);
  }

  /** Sends one chunk and reads its answer: the probability, or the error message's text. */
  async chunk(data: ArrayBuffer | ArrayBufferView): Promise<number> {
    this.ws.send(data);
    const answer = await this.next();
    if (typeof answer === 'string') throw new Error(answer);
    return new Float32Array(answer)[0]!;
  }
}

async function upgrade(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(url.replace(/^ws/, 'http'), { headers: { Upgrade: 'websocket', ...headers } });
}

async function open(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const response = await upgrade(url, headers);
  if (response.status !== 101) throw new Error(`${response.status} ${await response.text()}`);
  return new Stream(response.webSocket!);
}

/** A VAD stream that has sent its start message and read the answer. */
async function vadStream(sequenceId: string, as: keyof typeof KEYS = 'alice'): Promise<Stream> {
  const stream = await open((await ticketFor(sequenceId, as)).url);
  stream.ws.send(START);
  expect(await stream.json()).toEqual({
    type: 'ready',
    model: 'silero-vad',
    model_version: '1',
    input: { name: 'input', datatype: 'FP32', shape: [1, -1] },
    outputs: null,
  });
  return stream;
}

const sequenceObject = (consumer: string, sequenceId: string) => env.SEQUENCES.get(env.SEQUENCES.idFromName(`${consumer}/silero-vad/${JSON.stringify(sequenceId)}`));

/** Over HTTP, whether the sequence is still active: a continuing call answers 400 "not active" once it ended. */
async function active(sequenceId: string, as: keyof typeof KEYS = 'alice'): Promise<boolean> {
  const response = await postJson(INFER, { parameters: { sequence_id: sequenceId }, inputs: [{ name: 'input', shape: [1, vad.chunk], datatype: 'FP32', data: vad.chunks[0] }, SR] }, as);
  await response.body?.cancel();
  return response.status === 200;
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await scheduler.wait(20);
  }
  throw new Error('condition not met within 1 s');
}

const base64 = (data: ArrayBuffer) => btoa(Array.from(new Uint8Array(data), (b) => String.fromCharCode(b)).join(''));

beforeAll(async () => {
  const response = await postJson('/v2/repository/models/simple_sequence/load', {
    parameters: { 'file:config.pbtxt': base64(new TextEncoder().encode(sequenceConfig).buffer as ArrayBuffer), 'file:1/model.onnx': base64(sequenceModel) },
  });
  if (response.status !== 200) throw new Error(await response.text());
});

describe('sequences over a WebSocket', () => {
  it('gives the outputs of the HTTP path for the same audio, chunk for chunk', async () => {
    const n = vad.chunks.length;
    const http = await overHttp('http-reference', n);
    const stream = await vadStream('ws-1');
    const streamed: number[] = [];
    for (let i = 0; i < n; i++) streamed.push(await stream.chunk(bytes(i)));
    streamed.forEach((p, i) => expect(Math.abs(p - http[i]!), `chunk ${i}`).toBeLessThanOrEqual(1e-6));
    streamed.forEach((p, i) => expect(Math.abs(p - vad.probabilities[i]!), `chunk ${i} vs onnxruntime-node`).toBeLessThanOrEqual(1e-4));
    expect(Math.max(...streamed)).toBeGreaterThan(0.99);
    stream.ws.send('{"type": "end"}');
    expect(await stream.json()).toEqual({ type: 'end', chunks: n });
    expect(await stream.closed).toEqual({ code: 1000, reason: 'sequence ended' });
    expect(await active('ws-1')).toBe(false); // the end message cleared the state
  });

  it('answers chunks sent without waiting, in order', async () => {
    const http = await overHttp('http-pipelined', 40);
    const stream = await vadStream('ws-pipelined');
    for (let i = 0; i < 40; i++) stream.ws.send(bytes(i));
    for (let i = 0; i < 40; i++) {
      const answer = await stream.next();
      expect(Math.abs(new Float32Array(answer as ArrayBuffer)[0]! - http[i]!), `chunk ${i}`).toBeLessThanOrEqual(1e-6);
    }
    stream.ws.close(1000);
  });

  it('survives its object hibernating between chunks', async () => {
    const http = await overHttp('http-hibernate', 20);
    const stream = await vadStream('ws-hibernate');
    const streamed: number[] = [];
    for (let i = 0; i < 10; i++) streamed.push(await stream.chunk(bytes(i)));
    await evictDurableObject(sequenceObject('alice', 'ws-hibernate'), { webSockets: 'hibernate' });
    for (let i = 10; i < 20; i++) streamed.push(await stream.chunk(bytes(i)));
    streamed.forEach((p, i) => expect(Math.abs(p - http[i]!), `chunk ${i}`).toBeLessThanOrEqual(1e-6));
    stream.ws.close(1000);
  });

  it('starts the sequence with the first chunk and ends it when the client closes', async () => {
    // A sequence already running over HTTP is restarted by a stream's first chunk, as sequence_start restarts it.
    await overHttp('ws-close', 5);
    const http = await overHttp('http-close', 3);
    const stream = await vadStream('ws-close');
    for (let i = 0; i < 3; i++) expect(Math.abs((await stream.chunk(bytes(i))) - http[i]!)).toBeLessThanOrEqual(1e-6);
    expect(await active('ws-close')).toBe(true);
    // Over HTTP that was chunk 0 again: the stream continues after it.
    stream.ws.close(1000, 'done');
    expect(await stream.closed).toEqual({ code: 1000, reason: 'done' }); // the object answers the close
    await eventually(async () => !(await active('ws-close')));
    const tables = await runInDurableObject(sequenceObject('alice', 'ws-close'), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("fills Triton's START control from the first chunk (simple_sequence)", async () => {
    const { url } = await ticketFor('triton-1', 'alice', 'simple_sequence');
    const stream = await open(url);
    const outputs: number[] = [];
    for (const value of [0, 11, 7, 5, 3, 2, 0, 1]) {
      stream.ws.send(Int32Array.of(value));
      outputs.push(new Int32Array((await stream.next()) as ArrayBuffer)[0]!);
    }
    expect(outputs).toEqual([1, 11, 7, 5, 3, 2, 0, 1]); // HTTP gives the same (test/triton-sequences.test.ts)
    stream.ws.close(1000);
  });

  it('takes the ticket from Sec-WebSocket-Protocol and names that protocol in its answer', async () => {
    const { ticket } = await ticketFor('ws-protocol');
    const response = await upgrade('http://edge.test/v2/models/silero-vad/sequences/ws-protocol/stream', { 'Sec-WebSocket-Protocol': `edge-inference, ticket.${ticket}` });
    expect(response.status).toBe(101);
    expect(response.headers.get('Sec-WebSocket-Protocol')).toBe(`ticket.${ticket}`);
    const stream = new Stream(response.webSocket!);
    stream.ws.send(START);
    expect((await stream.json()).type).toBe('ready');
    expect(Math.abs((await stream.chunk(bytes(0))) - vad.probabilities[0]!)).toBeLessThanOrEqual(1e-4);
    stream.ws.close(1000);
  });
});

describe('stream tickets', () => {
  it('are issued only with a key, for sequence models, and documented as answered', async () => {
    const answer = await call('/v2/models/silero-vad/sequences/doc/ticket', { method: 'POST' });
    expect(answer.status).toBe(201);
    // A ticket is a secret: no cache keeps it, and the edge leaves it as written.
    expect(answer.headers.get('Cache-Control')).toBe('no-store, no-transform');
    const body = (await answer.json()) as Ticket;
    expect(body.ticket).toMatch(/^[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
    expect(body.url).toBe(`ws://edge.test/v2/models/silero-vad/sequences/doc/stream?ticket=${body.ticket}`);
    const ttl = Date.parse(body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const doc = (await (await call('/openapi.json', { as: null })).json()) as any;
    const schema = doc.paths['/v2/models/{name}/sequences/{sequence_id}/ticket'].post.responses['201'].content['application/json'].schema;
    expect(new Validator({ ...schema, components: doc.components } as Schema, '2020-12', false).validate(body).errors).toEqual([]);

    await expectError(await call('/v2/models/silero-vad/sequences/doc/ticket', { method: 'POST', as: null }), 401, /Authorization/);
    await expectError(await call('/v2/models/iris/sequences/doc/ticket', { method: 'POST' }), 400, /not a sequence model/);
    await expectError(await call('/v2/models/nope/sequences/doc/ticket', { method: 'POST' }), 404, /unknown model/);
    await expectError(await call(`/v2/models/silero-vad/sequences/${'x'.repeat(129)}/ticket`, { method: 'POST' }), 400, /sequence_id/);
    expect((await call('/v2/models/silero-vad/versions/1/sequences/doc/ticket', { method: 'POST' })).status).toBe(201);
  });

  it('open one stream, once', async () => {
    const { url } = await ticketFor('once');
    const stream = await open(url);
    await expectError(await upgrade(url), 401, /invalid ticket/);
    stream.ws.close(1000);
    await expectError(await upgrade(url), 401, /invalid ticket/);
  });

  it('expire, and leave nothing behind once expired', async () => {
    const { url } = await ticketFor('late');
    const object = sequenceObject('alice', 'late');
    await runInDurableObject(object, (_, state) => state.storage.sql.exec('UPDATE ticket SET expires_at = 0'));
    await expectError(await upgrade(url), 401, /invalid ticket/);
    // An unused ticket's alarm clears it: the object keeps no storage.
    await ticketFor('late');
    await runInDurableObject(object, (_, state) => state.storage.sql.exec('UPDATE ticket SET expires_at = 0'));
    expect(await runDurableObjectAlarm(object)).toBe(true);
    const left = await runInDurableObject(object, async (_, state) => ({
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray(),
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ tables: [], alarm: null });
  });

  it('outlive the end of a sequence', async () => {
    const stream = await vadStream('outlive');
    await stream.chunk(bytes(0));
    const next = await ticketFor('outlive');
    stream.ws.send('{"type": "end"}');
    expect(await stream.json()).toEqual({ type: 'end', chunks: 1 });
    const again = await open(next.url);
    again.ws.close(1000);
  });

  it("never let one consumer drive another's sequence", async () => {
    // Chunks 15..26 (speech starts at 17): the carried state matters.
    const http = await overHttp('http-shared', 12, 15);
    const [alice, bob] = [await vadStream('shared'), await vadStream('shared', 'bob')];
    // Interleaved: Bob's ticket for the same sequence id opens Bob's own sequence, and each matches a sequence of its own.
    for (const [from, to] of [[0, 4], [4, 8], [8, 12]] as const) {
      for (const stream of [alice, bob]) {
        for (let i = from; i < to; i++) expect(Math.abs((await stream.chunk(bytes(15 + i))) - http[i]!), `chunk ${i}`).toBeLessThanOrEqual(1e-6);
      }
    }
    // Alice's object with Bob's secret, or a ticket shown on another sequence's URL: refused.
    const [aliceTicket, bobTicket] = [await ticketFor('shared'), await ticketFor('shared', 'bob')];
    const spliced = `${aliceTicket.ticket.split('.')[0]}.${bobTicket.ticket.split('.')[1]}`;
    await expectError(await upgrade(aliceTicket.url.replace(aliceTicket.ticket, spliced)), 401, /invalid ticket/);
    await expectError(await upgrade(aliceTicket.url.replace('/sequences/shared/', '/sequences/other/')), 401, /invalid ticket/);
    await expectError(await upgrade(aliceTicket.url.replace('silero-vad', 'simple_sequence')), 401, /invalid ticket/);
    alice.ws.close(1000);
    bob.ws.close(1000);
  });

  it('are refused before any upgrade: missing, malformed, unknown; a plain GET is a 426', async () => {
    const stream = 'http://edge.test/v2/models/silero-vad/sequences/x/stream';
    await expectError(await upgrade(stream), 401, /missing ticket/);
    await expectError(await upgrade(`${stream}?ticket=nope`), 401, /invalid ticket/);
    await expectError(await upgrade(`${stream}?ticket=${'0'.repeat(64)}.${'A'.repeat(43)}`), 401, /invalid ticket/);
    const other = (await ticketFor('x')).ticket.split('.')[0];
    await expectError(await upgrade(`${stream}?ticket=${other}.${'A'.repeat(43)}`), 401, /invalid ticket/);
    // The API key is never a stream credential.
    await expectError(await upgrade(stream, { Authorization: 'Bearer demo-key-alice' }), 401, /missing ticket/);
    await expectError(await call('/v2/models/silero-vad/sequences/x/stream', { as: null }), 426, /Upgrade: websocket/);
  });
});

describe('stream errors are answered as frames', () => {
  it('a chunk of the wrong size, a bad control message, a late start: the stream goes on', async () => {
    const http = await overHttp('http-errors', 2);
    const stream = await vadStream('ws-errors');
    stream.ws.send(new Uint8Array(3));
    expect(await stream.json()).toEqual({ error: expect.stringMatching(/chunk of 3 bytes is not a whole number of 1 FP32/), chunk: 0 });
    stream.ws.send('not json');
    expect((await stream.json()).error).toMatch(/control message/);
    stream.ws.send('{"type": "pause"}');
    expect((await stream.json()).error).toMatch(/control message/);
    // The failed chunk started nothing: the next one starts the sequence.
    expect(Math.abs((await stream.chunk(bytes(0))) - http[0]!)).toBeLessThanOrEqual(1e-6);
    stream.ws.send(START);
    expect((await stream.json()).error).toMatch(/before the first chunk/);
    expect(Math.abs((await stream.chunk(bytes(1))) - http[1]!)).toBeLessThanOrEqual(1e-6);
    stream.ws.close(1000);
  });

  it('a stream that does not say what its other inputs are', async () => {
    const stream = await open((await ticketFor('no-start')).url);
    stream.ws.send(bytes(0));
    expect(await stream.json()).toEqual({ error: expect.stringMatching(/start message .* must give every other one/), chunk: 0 });
    stream.ws.send(JSON.stringify({ type: 'start', inputs: [{ name: 'rate', datatype: 'INT64', shape: [], data: [1] }] }));
    expect((await stream.json()).error).toMatch(/unknown input 'rate'/);
    stream.ws.send(JSON.stringify({ type: 'start', inputs: [SR], outputs: ['nope'] }));
    expect((await stream.json()).error).toMatch(/unknown output 'nope'/);
    stream.ws.send(JSON.stringify({ type: 'start', inputs: [{ ...SR, data: Array(2000).fill(16000) }] }));
    expect((await stream.json()).error).toMatch(/too large to keep/);
    stream.ws.close(1000);
  });

  it('a message too large: an error frame, then the socket closes and the sequence ends', async () => {
    const stream = await vadStream('ws-big');
    await stream.chunk(bytes(0));
    stream.ws.send(new Uint8Array(1024 * 1024 + 4));
    expect((await stream.json()).error).toMatch(/binary message of 1048580 bytes; a chunk takes at most 1048576/);
    expect((await stream.closed).code).toBe(1009);
    await eventually(async () => !(await active('ws-big')));

    const text = await vadStream('ws-big-text');
    text.ws.send(`{"type": "start", "pad": "${'x'.repeat(20_000)}"}`);
    expect((await text.json()).error).toMatch(/text message of \d+ characters/);
    expect((await text.closed).code).toBe(1009);
  });

  it('an idle sequence expires: its stream is told and closed', async () => {
    const stream = await vadStream('ws-idle');
    await stream.chunk(bytes(0));
    const object = sequenceObject('alice', 'ws-idle');
    await runInDurableObject(object, (_, state) => state.storage.sql.exec('UPDATE sequence SET last_active = 0'));
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect((await stream.json()).error).toMatch(/sequence expired: no chunk for 600 s/);
    expect(await stream.closed).toEqual({ code: 1000, reason: 'sequence expired' });
  });

  it('a newer stream takes the sequence over; the older one is closed without ending it', async () => {
    const http = await overHttp('http-takeover', 2);
    const first = await vadStream('takeover');
    await first.chunk(bytes(0));
    const second = await vadStream('takeover');
    expect(await first.closed).toEqual({ code: 4000, reason: 'a newer stream took over this sequence' });
    expect(Math.abs((await second.chunk(bytes(0))) - http[0]!)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs((await second.chunk(bytes(1))) - http[1]!)).toBeLessThanOrEqual(1e-6);
    second.ws.close(1000);
  });
});
