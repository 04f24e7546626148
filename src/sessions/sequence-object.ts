// One object per (consumer, model, sequence): carries the model's state tensors from one call to the next.
import { DurableObject } from 'cloudflare:workers';
import type { DecodedBody } from '../runtime/binary-body';
import type { DatatypeName } from '../runtime/datatypes';
import { badRequest } from '../runtime/errors';
import type { InferenceResult, StoredTensor } from '../runtime/inference';
import type { ModelConfig } from '../runtime/model-config';
import { outcome, type Outcome } from '../runtime/outcome';
import { controlFeeds, initialState, sequenceSpecOf, type SequenceSpec } from '../runtime/sequence-batching';
import { dataPlane, flushAfter } from '../serving';
import type { SequenceCall, SequenceRow, StateRow } from './sequence-types';
import { expireIfIdle } from './idle-expiry';
import { SerialQueue } from './serial-queue';
import { storedRow } from './stored-row';
import { SequenceSockets } from './sequence-socket';
import type { TicketGrant } from './sequence-tickets';
import { withContext } from './stream-context';

/** The state row holding the streaming context (no tensor input has this name: it has a space). */
const CONTEXT = 'stream context';

/** String and integer ids are distinct sequences, as in Triton. */
export function sequenceStub(env: Env, consumer: string, model: string, sequenceId: string | number) {
  return env.SEQUENCES.get(env.SEQUENCES.idFromName(`${consumer}/${model}/${JSON.stringify(sequenceId)}`));
}

export class SequenceObject extends DurableObject<Env> {
  readonly #queue = new SerialQueue();
  readonly #sql: SqlStorage;
  /** The sequence's WebSocket streams (src/sessions/sequence-socket.ts): their chunks run through the same queue and step. */
  readonly #sockets: SequenceSockets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sockets = new SequenceSockets(ctx, env, { serial: (work) => this.#queue.run(work), step: (call) => this.#step(call), end: () => this.#end() });
  }

  step(call: SequenceCall): Promise<Outcome<InferenceResult>> {
    return flushAfter(this.ctx, this.env, this.#queue.run(() => outcome(() => this.#step(call))));
  }

  /** A single-use ticket that opens one WebSocket stream of this sequence; its idle alarm (or one at its expiry) clears it. */
  issueTicket(grant: TicketGrant): Promise<Outcome<{ secret: string; expiresAt: number }>> {
    // In the queue: an ending sequence's deleteAll cannot take a ticket issued meanwhile with it.
    return this.#queue.run(() =>
      outcome(async () => {
        const issued = await this.#sockets.tickets.issue(grant);
        if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(issued.expiresAt);
        return issued;
      }),
    );
  }

  override fetch(request: Request): Promise<Response> {
    return this.#sockets.upgrade(request);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> | void {
    return this.#sockets.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> | void {
    return this.#sockets.closed(ws, code, reason);
  }

  override webSocketError(ws: WebSocket): Promise<void> | void {
    return this.#sockets.closed(ws);
  }

  override async alarm(): Promise<void> {
    await this.#queue.run(async () => {
      const row = this.#row();
      // Without a sequence the alarm was for tickets: the expired go, and the object is left empty once none is left.
      if (!row) return this.#end();
      await expireIfIdle(this.ctx.storage, row, async () => {
        await this.#end();
        this.#sockets.expired(row.idle_timeout);
      });
    });
  }

  /** Tables exist only while the sequence does: ending it deletes all storage. */
  #row(): SequenceRow | undefined {
    return storedRow<SequenceRow>(this.#sql, 'sequence');
  }

  async #step(call: SequenceCall): Promise<InferenceResult> {
    const row = this.#row();
    const id = JSON.stringify(call.sequenceId);
    if (!row && !call.start) {
      throw badRequest(
        `sequence ${id} is not active: inference request for sequence ${id} to model '${call.model}' must specify the START flag on the first request of the sequence (parameters.sequence_start=true)`,
      );
    }
    if (row && !call.start && call.version !== undefined && call.version !== row.version) {
      throw badRequest(`sequence ${id} runs version ${row.version} of '${call.model}', not ${call.version}`);
    }
    const version = call.start ? call.version : row!.version;
    return dataPlane(this.env).hold(call.model, version, async (model) => {
      // A sequence keeps the config it started with, even when the model's config is replaced meanwhile.
      const config: ModelConfig = row?.config && !call.start ? JSON.parse(row.config) : model.config;
      const sequence = sequenceSpecOf(config);
      if (!sequence) throw badRequest(`model '${call.model}' is not a sequence model (its config declares no sequence_batching)`);
      if (sequence.batched && call.request.inputs.some((input) => input.shape[0] !== 1)) {
        throw badRequest(`inference request to model '${call.model}' must specify batch-size 1 due to requirements of sequence batcher`);
      }
      const stored = new Map(row && !call.start ? this.#sql.exec<StateRow>('SELECT * FROM state').toArray().map((s) => [s.name, s] as const) : []);
      let decoded: DecodedBody = { request: call.request, binary: call.binary };
      let context: Uint8Array | undefined;
      if (sequence.context) {
        const previous = stored.get(CONTEXT)?.bytes;
        ({ decoded, context } = withContext(decoded, sequence.context.input, sequence.context.length, previous && new Uint8Array(previous)));
      }
      const feeds = {
        ...controlFeeds(sequence, call, call.model),
        ...Object.fromEntries(sequence.states.map((state) => [state.input, this.#savedState(stored.get(state.input)) ?? initialState(state)])),
      };
      const result = await model.infer(decoded.request, decoded.binary, { feeds, outputs: sequence.states.map((s) => s.output) });
      if (call.end) await this.#end();
      else await this.#save(model.version, config, sequence, result, context);
      return { ...result, state: {} }; // the carried state stays here
    });
  }

  #savedState(row: StateRow | undefined): StoredTensor | undefined {
    return row && { datatype: row.datatype as DatatypeName, shape: JSON.parse(row.shape) as number[], bytes: new Uint8Array(row.bytes) };
  }

  /** Deletes the sequence; unused stream tickets stay until they expire (then nothing is left at all). */
  async #end(): Promise<void> {
    this.#sql.exec('DROP TABLE IF EXISTS sequence; DROP TABLE IF EXISTS state;');
    const tickets = this.#sockets.tickets.nextExpiry();
    if (tickets !== undefined) return this.ctx.storage.setAlarm(tickets);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  async #save(version: string, config: ModelConfig, sequence: SequenceSpec, result: InferenceResult, context: Uint8Array | undefined): Promise<void> {
    const now = Date.now();
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS sequence (version TEXT NOT NULL, config TEXT NOT NULL, last_active INTEGER NOT NULL, idle_timeout INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, datatype TEXT NOT NULL, shape TEXT NOT NULL, bytes BLOB NOT NULL);
      DELETE FROM sequence;`);
    const insert = 'INSERT INTO sequence (version, config, last_active, idle_timeout) VALUES (?, ?, ?, ?)';
    this.#sql.exec(insert, version, JSON.stringify(config), now, sequence.idleTimeoutSeconds);
    if (context) this.#sql.exec("INSERT OR REPLACE INTO state (name, datatype, shape, bytes) VALUES (?, '', '[]', ?)", CONTEXT, context);
    for (const state of sequence.states) {
      const next = result.state[state.output]!;
      const insert = 'INSERT OR REPLACE INTO state (name, datatype, shape, bytes) VALUES (?, ?, ?, ?)';
      this.#sql.exec(insert, state.input, next.datatype, JSON.stringify(next.shape), next.bytes);
    }
    await this.ctx.storage.setAlarm(now + sequence.idleTimeoutSeconds * 1000);
  }
}
