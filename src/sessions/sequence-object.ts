// One object per (consumer, model, sequence): carries the model's state tensors from one call to the next.
import { DurableObject } from 'cloudflare:workers';
import { encodeResponseBody, type DecodedBody } from '../runtime/binary-body';
import { DATATYPES, type DatatypeName } from '../runtime/datatypes';
import { badRequest } from '../runtime/errors';
import { infer, type StoredTensor } from '../runtime/inference';
import type { StateConfig } from '../runtime/model-config';
import type { InferenceRequest } from '../runtime/protocol';
import { runtimeFor } from '../runtime/runtime';
import { elementCount } from '../runtime/tensor-codec';
import { outcome, type Outcome } from '../runtime/outcome';
import { SerialQueue } from './serial-queue';
import { storedRow } from './stored-row';
import { withContext } from './stream-context';

/** The state row holding the streaming context (no tensor input has this name: it has a space). */
const CONTEXT = 'stream context';

export interface SequenceCall {
  model: string;
  /** The version in the URL, if any; a sequence keeps the version it started with. */
  version?: string;
  sequenceId: string | number;
  start: boolean;
  end: boolean;
  request: InferenceRequest;
  binary: (Uint8Array | undefined)[];
}

export interface SequenceReply {
  body: string | Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
  version: string;
  inferMs: number;
}

interface SequenceRow extends Record<string, SqlStorageValue> {
  version: string;
  last_active: number;
  idle_timeout: number;
}

interface StateRow extends Record<string, SqlStorageValue> {
  name: string;
  datatype: string;
  shape: string;
  bytes: ArrayBuffer;
}

function initialState(state: StateConfig): StoredTensor {
  const datatype = state.datatype as DatatypeName;
  const { array } = DATATYPES[datatype] as { array?: new (n: number) => { fill(v: unknown): ArrayBufferView } };
  if (!array) throw badRequest(`sequence state '${state.input}' cannot be ${datatype}`);
  const count = elementCount(state.shape);
  const filled = array === BigInt64Array || array === BigUint64Array ? new array(count).fill(BigInt(state.initial)) : new array(count).fill(state.initial);
  return { datatype, shape: state.shape, bytes: new Uint8Array(filled.buffer as ArrayBuffer) };
}

export class SequenceObject extends DurableObject<Env> {
  readonly #queue = new SerialQueue();
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
  }

  /** Tables exist only while the sequence does: ending it deletes all storage. */
  #row(): SequenceRow | undefined {
    return storedRow<SequenceRow>(this.#sql, 'sequence');
  }

  step(call: SequenceCall): Promise<Outcome<SequenceReply>> {
    return this.#queue.run(() => outcome(() => this.#step(call)));
  }

  async #step(call: SequenceCall): Promise<SequenceReply> {
    const row = this.#row();
    if (!row && !call.start) {
      throw badRequest(`sequence ${JSON.stringify(call.sequenceId)} is not active: its first request must set parameters.sequence_start=true`);
    }
    if (row && !call.start && call.version !== undefined && call.version !== row.version) {
      throw badRequest(`sequence ${JSON.stringify(call.sequenceId)} runs version ${row.version} of '${call.model}', not ${call.version}`);
    }
    const { repository, models } = runtimeFor(this.env);
    const version = await repository.resolve(call.model, call.start ? call.version : row!.version);
    const sequence = version.config.sequence;
    if (!sequence) throw badRequest(`model '${call.model}' is not a sequence model (its config declares no "sequence")`);

    const stored = new Map(
      row && !call.start ? this.#sql.exec<StateRow>('SELECT * FROM state').toArray().map((s) => [s.name, s] as const) : [],
    );
    const feeds = Object.fromEntries(
      sequence.states.map((state) => {
        const saved = stored.get(state.input);
        const tensor = saved
          ? { datatype: saved.datatype as DatatypeName, shape: JSON.parse(saved.shape) as number[], bytes: new Uint8Array(saved.bytes) }
          : initialState(state);
        return [state.input, tensor];
      }),
    );
    let decoded: DecodedBody = { request: call.request, binary: call.binary };
    let context: Uint8Array | undefined;
    if (sequence.context) {
      const previous = stored.get(CONTEXT)?.bytes;
      ({ decoded, context } = withContext(decoded, sequence.context.input, sequence.context.length, previous && new Uint8Array(previous)));
    }
    const result = await models.with(version, (model) =>
      infer(model, decoded.request, decoded.binary, { feeds, outputs: sequence.states.map((s) => s.output) }),
    );

    if (call.end) {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    } else {
      const now = Date.now();
      this.#sql.exec(`
        CREATE TABLE IF NOT EXISTS sequence (version TEXT NOT NULL, last_active INTEGER NOT NULL, idle_timeout INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, datatype TEXT NOT NULL, shape TEXT NOT NULL, bytes BLOB NOT NULL);
        DELETE FROM sequence;`);
      this.#sql.exec('INSERT INTO sequence (version, last_active, idle_timeout) VALUES (?, ?, ?)', version.version, now, sequence.idle_timeout_seconds);
      if (context) {
        this.#sql.exec("INSERT OR REPLACE INTO state (name, datatype, shape, bytes) VALUES (?, '', '[]', ?)", CONTEXT, context);
      }
      for (const state of sequence.states) {
        const next = result.state[state.output]!;
        this.#sql.exec(
          'INSERT OR REPLACE INTO state (name, datatype, shape, bytes) VALUES (?, ?, ?, ?)',
          state.input,
          next.datatype,
          JSON.stringify(next.shape),
          next.bytes,
        );
      }
      await this.ctx.storage.setAlarm(now + sequence.idle_timeout_seconds * 1000);
    }
    const { body, headers } = encodeResponseBody(result);
    return { body, headers, version: version.version, inferMs: result.inferMs };
  }

  override async alarm(): Promise<void> {
    await this.#queue.run(async () => {
      const row = this.#row();
      if (!row) return;
      const due = row.last_active + row.idle_timeout * 1000;
      if (Date.now() < due) return this.ctx.storage.setAlarm(due);
      await this.ctx.storage.deleteAll();
    });
  }
}
