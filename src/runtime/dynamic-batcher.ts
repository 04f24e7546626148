// Dynamic batching (Triton's `dynamic_batching`): requests to one model version that are in the isolate at the
// same time run as one execution along the batch dimension, and each gets its own rows back.
import type { ModelConfig } from './model-config';
import { ort } from './ort';

type Feeds = Record<string, ort.Tensor>;
type Fetched = ort.InferenceSession.ReturnType;

export interface BatchingPolicy {
  /** The most rows one execution takes (the model's max_batch_size). */
  maxBatch: number;
  /** Stop waiting once this many rows are queued: the largest preferred batch size, else maxBatch. */
  target: number;
  /** The longest a request waits for others (max_queue_delay_microseconds). */
  maxDelayMs: number;
}

/** The policy of a model whose config asks for dynamic batching and whose inputs have a batch dimension. */
export function batchingPolicyOf(config: ModelConfig): BatchingPolicy | undefined {
  const dynamic = config.dynamic_batching;
  if (!dynamic || config.max_batch_size < 1) return undefined;
  const preferred = (dynamic.preferred_batch_size ?? []).filter((size) => size <= config.max_batch_size);
  return {
    maxBatch: config.max_batch_size,
    target: preferred.length ? Math.max(...preferred) : config.max_batch_size,
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

/** Timers, injectable so the delay bound can be tested without waiting on a clock. */
export interface Clock {
  now(): number;
  after(ms: number, callback: () => void): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  after: (ms, callback) => void setTimeout(callback, ms),
};

interface Entry {
  feeds: Feeds;
  fetches: string[];
  /** Requests may share an execution only when their inputs agree past the batch dimension and they fetch the same outputs. */
  key: string;
  rows: number;
  arrived: number;
  taken: boolean;
  resolve(execution: Execution): void;
  reject(error: unknown): void;
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
  const rowSize = tensor.dims.slice(1).reduce((n, d) => n * d, 1);
  const data = tensor.data;
  const part = Array.isArray(data) ? data.slice(from * rowSize, to * rowSize) : (data as Uint8Array).subarray(from * rowSize, to * rowSize);
  return new ort.Tensor(tensor.type, part as never, [to - from, ...tensor.dims.slice(1)]);
}

/**
 * Queues requests to one model version and runs them together. A request runs at once when it is the only one
 * the isolate is serving for the model (nobody could join it), when the queue holds `target` rows, or when it has
 * waited `maxDelayMs`, whichever comes first: it never waits past the delay. Each request sets its own timer,
 * so a batch never depends on another request's timer firing.
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

  submit(feeds: Feeds, fetches: string[]): Promise<Execution> {
    return new Promise((resolve, reject) => {
      const rows = Object.values(feeds)[0]?.dims[0] ?? 1;
      const entry: Entry = { feeds, fetches, key: keyOf(feeds, fetches), rows, arrived: this.clock.now(), taken: false, resolve, reject };
      this.#queue.push(entry);
      if (this.#full()) this.#drain();
      else this.clock.after(this.policy.maxDelayMs, () => entry.taken || this.#drain());
    });
  }

  /** Waiting longer gains nothing once the queue holds a full batch, or every request the isolate serves for the model. */
  #full(): boolean {
    const rows = this.#queue.reduce((n, e) => n + e.rows, 0);
    return rows >= this.policy.target || this.#queue.length >= this.arriving();
  }

  /** Runs everything queued: the oldest request with the compatible ones behind it, up to `target` rows, until empty. */
  #drain(): void {
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
      void this.#execute(batch, rows);
    }
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
    let outputs: Fetched;
    try {
      outputs = await this.run(feeds, batch[0]!.fetches);
    } catch {
      // One request the graph rejects must not fail the others: each runs alone and gets its own answer.
      for (const entry of batch) void this.#alone(entry, started);
      return;
    }
    const inferMs = this.clock.now() - started;
    // An output without the batch dimension cannot be split back into rows: then each request runs alone.
    if (Object.values(outputs).some((t) => t.dims[0] !== rows)) {
      for (const entry of batch) void this.#alone(entry, started);
      return;
    }
    let from = 0;
    batch.forEach((entry, i) => {
      const to = from + entry.rows;
      const mine = Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, rowsOf(tensor, from, to)]));
      entry.resolve({ outputs: mine, queueMs: started - entry.arrived, inferMs, executions: i === 0 ? 1 : 0, batchSize: rows });
      from = to;
    });
  }

  async #alone(entry: Entry, started: number): Promise<void> {
    try {
      const outputs = await this.run(entry.feeds, entry.fetches);
      entry.resolve({ outputs, queueMs: started - entry.arrived, inferMs: this.clock.now() - started, executions: 1, batchSize: entry.rows });
    } catch (error) {
      entry.reject(error);
    }
  }
}
