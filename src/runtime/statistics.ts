// Triton's statistics extension: per model version counts and durations, recorded by the data plane and summed across isolates.

/** The counters of one model version; durations in nanoseconds. */
export interface VersionCounters {
  last_inference: number;
  inference_count: number;
  execution_count: number;
  success_count: number;
  success_ns: number;
  fail_count: number;
  fail_ns: number;
  compute_input_ns: number;
  compute_infer_ns: number;
  compute_output_ns: number;
  /** Time requests waited in the dynamic batcher's queue. */
  queue_ns: number;
  /** Executions per batch size (rows), and their compute time: Triton's batch_stats. */
  batch_executions: Record<string, number>;
  batch_infer_ns: Record<string, number>;
}

export const zeroCounters = (): VersionCounters => ({
  last_inference: 0,
  inference_count: 0,
  execution_count: 0,
  success_count: 0,
  success_ns: 0,
  fail_count: 0,
  fail_ns: 0,
  compute_input_ns: 0,
  compute_infer_ns: 0,
  compute_output_ns: 0,
  queue_ns: 0,
  batch_executions: {},
  batch_infer_ns: {},
});

// A delta from an isolate on older code may lack the newer fields: they count as zero.
const addInto = (total: Record<string, number>, delta: Record<string, number> | undefined) => {
  for (const [key, value] of Object.entries(delta ?? {})) total[key] = (total[key] ?? 0) + value;
};

/** Adds `delta` into `total`, field by field (last_inference is the later of the two); a field `total` lacks counts from zero. */
export function addCounters(total: VersionCounters, delta: VersionCounters): VersionCounters {
  const { last_inference, batch_executions, batch_infer_ns, ...plain } = delta;
  total.last_inference = Math.max(total.last_inference ?? 0, last_inference);
  addInto(total as unknown as Record<string, number>, plain as unknown as Record<string, number>);
  addInto((total.batch_executions ??= {}), batch_executions);
  addInto((total.batch_infer_ns ??= {}), batch_infer_ns);
  return total;
}

export interface RunTiming {
  inputMs: number;
  inferMs: number;
  outputMs: number;
  queueMs: number;
  /** 1 when the request counts its execution, 0 when it was merged into another request's. */
  executions: 0 | 1;
  /** Rows in that execution. */
  batchSize: number;
}

const ns = (ms: number) => Math.round(ms * 1e6);

/** Counters per version of one model, as a StatsObject takes them. */
export type ModelCounters = Record<string, VersionCounters>;

/** What this isolate has counted and not yet handed on, per model and version. */
export class StatsRecorder {
  #pending = new Map<string, ModelCounters>();

  #counters(name: string, version: string): VersionCounters {
    let model = this.#pending.get(name);
    if (!model) this.#pending.set(name, (model = {}));
    return (model[version] ??= zeroCounters());
  }

  success(name: string, version: string, batch: number, totalMs: number, timing: RunTiming): void {
    const c = this.#counters(name, version);
    c.last_inference = Date.now();
    c.inference_count += batch;
    c.execution_count += timing.executions;
    c.success_count += 1;
    c.success_ns += ns(totalMs);
    c.queue_ns += ns(timing.queueMs);
    c.compute_input_ns += ns(timing.inputMs);
    c.compute_infer_ns += ns(timing.inferMs);
    c.compute_output_ns += ns(timing.outputMs);
    if (timing.executions) {
      const size = String(timing.batchSize);
      c.batch_executions[size] = (c.batch_executions[size] ?? 0) + 1;
      c.batch_infer_ns[size] = (c.batch_infer_ns[size] ?? 0) + ns(timing.inferMs);
    }
  }

  failure(name: string, version: string, totalMs: number): void {
    const c = this.#counters(name, version);
    c.last_inference = Date.now();
    c.fail_count += 1;
    c.fail_ns += ns(totalMs);
  }

  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** What is counted and not handed on, to read without taking it (a host with nowhere to hand it). */
  peek(): ReadonlyMap<string, ModelCounters> {
    return this.#pending;
  }

  /** Hands over everything counted so far and starts again from zero. */
  take(): Map<string, ModelCounters> {
    const taken = this.#pending;
    this.#pending = new Map();
    return taken;
  }

  /** Puts back what could not be handed on, so nothing counted is lost. */
  restore(name: string, versions: ModelCounters): void {
    for (const [version, counters] of Object.entries(versions)) addCounters(this.#counters(name, version), counters);
  }
}

const duration = (count: number, nanoseconds: number) => ({ count, ns: nanoseconds });

/** One `model_stats` entry in Triton's JSON. There is no response cache. */
export function modelStat(name: string, version: string, c: VersionCounters) {
  const computed = c.success_count;
  return {
    name,
    version,
    last_inference: c.last_inference,
    inference_count: c.inference_count,
    execution_count: c.execution_count,
    inference_stats: {
      success: duration(c.success_count, c.success_ns),
      fail: duration(c.fail_count, c.fail_ns),
      queue: duration(c.success_count, c.queue_ns),
      compute_input: duration(computed, c.compute_input_ns),
      compute_infer: duration(computed, c.compute_infer_ns),
      compute_output: duration(computed, c.compute_output_ns),
      cache_hit: duration(0, 0),
      cache_miss: duration(0, 0),
    },
    response_stats: {},
    batch_stats: Object.entries(c.batch_executions)
      .map(([size, count]) => ({
        batch_size: Number(size),
        compute_input: duration(count, 0),
        compute_infer: duration(count, c.batch_infer_ns[size] ?? 0),
        compute_output: duration(count, 0),
      }))
      .sort((a, b) => a.batch_size - b.batch_size),
    memory_usage: [],
  };
}

/**
 * What the core tells its host about its model cache, beside the statistics: the host counts these
 * where it likes (the Worker turns them into Prometheus metrics). Each call is synchronous and cheap.
 */
export interface RuntimeEvents {
  /** A model version was asked of the cache: loaded already (hit) or not (miss, a load follows). */
  cacheLookup(name: string, hit: boolean): void;
  /** A loaded version left the cache: pushed out by the size or count budget, or unloaded (or its config replaced). */
  evicted(name: string, reason: 'capacity' | 'unloaded'): void;
  /** A version finished loading (reading its file, creating its session, one probe run), or failed to. */
  loaded(name: string, version: string, ms: number, ok: boolean): void;
}

export const NO_EVENTS: RuntimeEvents = { cacheLookup() {}, evicted() {}, loaded() {} };
