// The isolate's Prometheus counters: Map increments on the request path, handed on with the statistics (src/serving.ts).
import type { RuntimeEvents } from '../runtime/statistics';

/** Label values must be bounded: model names, route patterns, status codes, outcomes; never raw paths or ids. */
export type Labels = Record<string, string>;

/** Request latency buckets, in seconds: 1 ms to 10 s. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Model load buckets, in seconds: 10 ms to 60 s. */
export const LOAD_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const HISTOGRAMS: Record<string, number[]> = { edge_request_duration_seconds: DURATION_BUCKETS, edge_model_load_seconds: LOAD_BUCKETS };

/** One series' key: its sample name and labels as JSON, so the exposition can read them back. */
export const seriesKey = (name: string, labels: Labels = {}) => JSON.stringify([name, labels]);
export const parseKey = (key: string) => JSON.parse(key) as [string, Labels];

/** The models this isolate has seen resolved (bounded: what an admin uploaded), so a path's name may label a series. */
const MAX_KNOWN_MODELS = 1000;

/**
 * What this isolate has counted and not yet handed on: series key → amount added. A histogram keeps
 * the count of its own bucket only (the exposition makes them cumulative) and its sum; its count is
 * the total of its buckets.
 */
export class MetricsRecorder {
  #pending = new Map<string, number>();
  readonly #known = new Set<string>();

  add(name: string, labels: Labels = {}, by = 1): void {
    if (by !== 0) this.addTo(seriesKey(name, labels), by);
  }

  /** Adds to a series by its key (`seriesKey`), for callers that keep keys they use often. */
  addTo(key: string, by: number): void {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + by);
  }

  /** One observation of a histogram `family` with the given bucket bounds. */
  observe(family: string, labels: Labels, value: number): void {
    const bounds = HISTOGRAMS[family]!;
    const bound = bounds.find((b) => value <= b);
    this.add(`${family}_bucket`, { ...labels, le: bound === undefined ? '+Inf' : String(bound) });
    this.add(`${family}_sum`, labels, value);
  }

  /** Whether a model name has been resolved here (and so is no made-up name from a path). */
  knows(model: string): boolean {
    return this.#known.has(model);
  }

  #know(model: string): void {
    if (this.#known.size < MAX_KNOWN_MODELS) this.#known.add(model);
  }

  /** The data plane's cache and load events, as metrics. */
  readonly events: RuntimeEvents = {
    cacheLookup: (name, hit) => {
      this.#know(name);
      this.add(hit ? 'edge_model_cache_hits_total' : 'edge_model_cache_misses_total');
    },
    evicted: (_name, reason) => this.add('edge_model_cache_evictions_total', { reason }),
    // Versions come and go: the model is label enough.
    loaded: (name, _version, ms, ok) => (ok ? this.observe('edge_model_load_seconds', { model: name }, ms / 1000) : this.add('edge_model_load_failures_total', { model: name })),
  };

  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** What is counted and not handed on, to read without taking it (no binding to hand it to). */
  peek(): ReadonlyMap<string, number> {
    return this.#pending;
  }

  /** Hands over everything counted so far and starts again from zero. */
  take(): Record<string, number> {
    const taken = Object.fromEntries(this.#pending);
    this.#pending = new Map();
    return taken;
  }

  /** Puts back what could not be handed on, so nothing counted is lost. */
  restore(deltas: Record<string, number>): void {
    for (const [key, by] of Object.entries(deltas)) this.#pending.set(key, (this.#pending.get(key) ?? 0) + by);
  }
}

/** The isolate's recorder: every request, chunk and object in it counts here. */
export const metrics = new MetricsRecorder();

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

interface RequestSeries {
  total: string;
  /** One key per bucket of DURATION_BUCKETS, then +Inf. */
  buckets: string[];
  sum: string;
}

/** A request's series keys per route, method, status and model (all bounded), made once: JSON per request costs. */
const requestSeries = new Map<string, RequestSeries>();
const MAX_REQUEST_SERIES = 10_000;

function seriesOf(route: string, method: string, status: number, model: string): RequestSeries {
  const id = `${route} ${method} ${status} ${model}`;
  let series = requestSeries.get(id);
  if (!series) {
    const labels = { route, method, model };
    series = {
      total: seriesKey('edge_requests_total', { route, method, status: String(status), model }),
      buckets: [...DURATION_BUCKETS.map(String), '+Inf'].map((le) => seriesKey('edge_request_duration_seconds_bucket', { ...labels, le })),
      sum: seriesKey('edge_request_duration_seconds_sum', labels),
    };
    if (requestSeries.size >= MAX_REQUEST_SERIES) requestSeries.clear();
    requestSeries.set(id, series);
  }
  return series;
}

/** One answered request: its count by route, method, status and model, and its latency. */
export function recordRequest(route: string, method: string, status: number, model: string, seconds: number): void {
  const series = seriesOf(route, METHODS.has(method) ? method : 'OTHER', status, model);
  const bucket = DURATION_BUCKETS.findIndex((b) => seconds <= b);
  metrics.addTo(series.total, 1);
  metrics.addTo(series.buckets[bucket === -1 ? DURATION_BUCKETS.length : bucket]!, 1);
  if (seconds !== 0) metrics.addTo(series.sum, seconds);
}
