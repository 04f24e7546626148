// Dynamic batching (Triton's `dynamic_batching`): requests to one model version that are in the isolate at the
// same time run as one execution along the batch dimension, and each gets its own rows back.
import type { ModelConfig } from './model-config';
import { ort } from './ort';
import { elementCount } from './tensor-codec';

type Feeds = Record<string, ort.Tensor>;
type Fetched = ort.InferenceSession.ReturnType;

export interface BatchingPolicy {
  /** Stop waiting once this many rows are queued, and put no more in one execution: the largest preferred batch size, else max_batch_size. */
  target: number;
  /**
   * Wait only while at least this many requests for the model are in the isolate (the smallest preferred batch size,
   * else 2): fewer cannot make a preferred batch, and waiting costs each waiter a timer tick (about 1 ms in workerd).
   */
  minWaiting: number;
  /** The longest a request waits for others (max_queue_delay_microseconds). */
  maxDelayMs: number;
}

/** The policy of a model whose config asks for dynamic batching and whose inputs have a batch dimension. */
export function batchingPolicyOf(config: ModelConfig): BatchingPolicy | undefined {
  const dynamic = config.dynamic_batching;
  if (!dynamic || config.max_batch_size < 1) return undefined;
  const preferred = (dynamic.preferred_batch_size ?? []).filter((size) => size <= config.max_batch_size);
  return {
    target: preferred.length ? Math.max(...preferred) : config.max_batch_size,
    minWaiting: preferred.length ? Math.max(2, Math.min(...preferred)) : 2,
    maxDelayMs: (dynamic.max_queue_delay_microseconds ?? 0) / 1000,
  };
}

/** One request's share of an execution. */
export interface Execution {
  outputs: Fetched;
  /** Milliseconds from arrival in the queue to the start of its execution. */
  queueMs: number;
  /** Milliseconds of the execution it was part of. */
  inferMs: number;
  /** 1 for the request that counts the execution (the first of its batch), 0 for the others merged into it. */
  executions: 0 | 1;
  /** Rows in the execution. */
  batchSize: number;
}

/** Time and sleeping, injectable so the delay bound can be tested without waiting on a clock. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How often a waiting request looks whether its execution has run (workerd's timers fire about every millisecond). */
const POLL_MS = 1;
/** A request whose batch was taken but never answered (its runner's request was cancelled) runs alone after this. */
const ORPHAN_MS = 1000;

type Outcome = { ok: true; execution: Execution } | { ok: false; error: unknown };

interface Entry {
  feeds: Feeds;
  fetches: string[];
  /** Requests may share an execution only when their inputs agree past the batch dimension and they fetch the same outputs. */
  key: string;
  rows: number;
  arrived: number;
  taken: boolean;
  outcome?: Outcome;
}

const keyOf = (feeds: Feeds, fetches: string[]) =>
  `${fetches.join('\0')}|${Object.keys(feeds)
    .sort()
    .map((name) => `${name}:${feeds[name]!.type}:${feeds[name]!.dims.slice(1).join('x')}`)
    .join('|')}`;

type Data = ort.Tensor['data'];

function concat(parts: Data[]): Data {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new (first.constructor as new (length: number) => Exclude<Data, string[]>)(total);
  let offset = 0;
  for (const part of parts as Exclude<Data, string[]>[]) {
    (joined as Uint8Array).set(part as Uint8Array, offset);
    offset += part.length;
  }
  return joined;
}

/** Rows [from, to) of a tensor whose first dimension is the batch: a view, not a copy. */
function rowsOf(tensor: ort.Tensor, from: number, to: number): ort.Tensor {
  const rowSize = elementCount(tensor.dims.slice(1));
  const data = tensor.data;
  const part = Array.isArray(data) ? data.slice(from * rowSize, to * rowSize) : (data as Uint8Array).subarray(from * rowSize, to * rowSize);
  return new ort.Tensor(tensor.type, part as never, [to - from, ...tensor.dims.slice(1)]);
}

/**
 * Queues requests to one model version and runs them together. The queue runs at once when it holds every
 * request the isolate is serving for the model (waiting longer gains nothing) or `target` rows, or when fewer
 * than `minWaiting` are in the isolate; otherwise a request waits, and once it has waited `maxDelayMs` it runs the
 * queue itself: it never waits past the delay.
 *
 * Workers forbid one request to resume another: whichever request runs an execution only writes each
 * request's rows into its queue entry, and every request waits on its own timer and reads its own entry. No
 * promise is settled across requests.
 */
export class DynamicBatcher {
  readonly #queue: Entry[] = [];

  /**
   * @param run one execution (a rejection is that request's error)
   * @param arriving how many requests the isolate is serving for this model now, queued ones included
   */
  constructor(
    readonly policy: BatchingPolicy,
    private readonly run: (feeds: Feeds, fetches: string[]) => Promise<Fetched>,
    private readonly arriving: () => number,
    private readonly clock: Clock = realClock,
  ) {}

  async submit(feeds: Feeds, fetches: string[]): Promise<Execution> {
    const rows = Object.values(feeds)[0]?.dims[0] ?? 1;
    const entry: Entry = { feeds, fetches, key: keyOf(feeds, fetches), rows, arrived: this.clock.now(), taken: false };
    this.#queue.push(entry);
    const deadline = entry.arrived + this.policy.maxDelayMs;
    while (!entry.outcome) {
      const now = this.clock.now();
      if (!entry.taken && (this.#full() || now >= deadline)) await this.#drain();
      else if (entry.taken && now >= deadline + ORPHAN_MS) await this.#execute([entry], entry.rows);
      else await this.clock.sleep(entry.taken ? POLL_MS : Math.min(POLL_MS, deadline - now));
    }
    if (!entry.outcome.ok) throw entry.outcome.error;
    return entry.outcome.execution;
  }

  /**
   * Waiting longer gains nothing once the queue holds a full batch or every request the isolate serves for the
   * model, and does not pay while too few are in the isolate to make a preferred batch.
   */
  #full(): boolean {
    const arriving = this.arriving();
    const rows = this.#queue.reduce((n, e) => n + e.rows, 0);
    return rows >= this.policy.target || this.#queue.length >= arriving || arriving < this.policy.minWaiting;
  }

  /** Runs everything queued: the oldest request with the compatible ones behind it, up to `target` rows, until empty. */
  async #drain(): Promise<void> {
    const runs: Promise<void>[] = [];
    while (this.#queue.length) {
      const head = this.#queue[0]!;
      const batch: Entry[] = [];
      let rows = 0;
      for (const entry of this.#queue) {
        if (entry.key !== head.key || (batch.length && rows + entry.rows > this.policy.target)) continue;
        batch.push(entry);
        rows += entry.rows;
      }
      for (const entry of batch) {
        entry.taken = true;
        this.#queue.splice(this.#queue.indexOf(entry), 1);
      }
      runs.push(this.#execute(batch, rows));
    }
    await Promise.all(runs);
  }

  async #execute(batch: Entry[], rows: number): Promise<void> {
    const started = this.clock.now();
    if (batch.length === 1) return this.#alone(batch[0]!, started);
    const names = Object.keys(batch[0]!.feeds);
    const feeds: Feeds = {};
    for (const name of names) {
      const first = batch[0]!.feeds[name]!;
      feeds[name] = new ort.Tensor(first.type, concat(batch.map((e) => e.feeds[name]!.data)) as never, [rows, ...first.dims.slice(1)]);
    }
    const outputs = await this.run(feeds, batch[0]!.fetches).catch(() => undefined);
    const inferMs = this.clock.now() - started;
    // One request the graph rejects must not fail the others, and an output without the batch dimension cannot be
    // split back into rows: then each request runs alone and gets its own answer.
    if (!outputs || Object.values(outputs).some((t) => t.dims[0] !== rows)) {
      for (const entry of batch) await this.#alone(entry, started);
      return;
    }
    let from = 0;
    batch.forEach((entry, i) => {
      const to = from + entry.rows;
      const mine = Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, rowsOf(tensor, from, to)]));
      entry.outcome = { ok: true, execution: { outputs: mine, queueMs: started - entry.arrived, inferMs, executions: i === 0 ? 1 : 0, batchSize: rows } };
      from = to;
    });
  }

  async #alone(entry: Entry, started: number): Promise<void> {
    try {
      const outputs = await this.run(entry.feeds, entry.fetches);
      entry.outcome = { ok: true, execution: { outputs, queueMs: started - entry.arrived, inferMs: this.clock.now() - started, executions: 1, batchSize: entry.rows } };
    } catch (error) {
      entry.outcome = { ok: false, error };
    }
  }
}
