// The Prometheus text exposition format (version 0.0.4) of the summed counters and the statistics.
import type { VersionCounters } from '../runtime/statistics';
import { HISTOGRAMS, parseKey, type Labels } from './recorder';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Kind = 'counter' | 'gauge' | 'histogram';

/** Every family, in the order written; those without labels are always written (0 until counted). */
const FAMILIES: [name: string, kind: Kind, help: string, unlabelled?: true][] = [
  ['edge_requests_total', 'counter', 'HTTP requests answered, by route pattern, method, status and model (empty when the route has none or it is unknown)'],
  ['edge_request_duration_seconds', 'histogram', 'HTTP request latency as the isolate saw it (workerd moves its clock only across I/O)'],
  ['edge_errors_total', 'counter', 'HTTP answers with a 4xx or 5xx status, by status'],
  ['edge_inferences_total', 'counter', "Inferences per model version, as Triton's statistics count them (rows, when max_batch_size > 0)"],
  ['edge_inference_executions_total', 'counter', 'Successful model executions per model version'],
  ['edge_inference_failures_total', 'counter', 'Failed inference requests per model version'],
  ['edge_model_cache_hits_total', 'counter', 'Model lookups answered by an isolate cache', true],
  ['edge_model_cache_misses_total', 'counter', 'Model lookups that had to load the model', true],
  ['edge_model_cache_evictions_total', 'counter', 'Loaded models that left an isolate cache: pushed out (capacity) or unloaded'],
  ['edge_model_load_seconds', 'histogram', 'Time to load a model: reading its file, creating its session and one probe run'],
  ['edge_model_load_failures_total', 'counter', 'Model loads that failed'],
  ['edge_batch_rows_total', 'counter', 'Batch records scored (results and error lines), by model; rows/s is rate() of it'],
  ['edge_batch_row_errors_total', 'counter', 'Batch records that became error lines, by model'],
  ['edge_batch_chunks_total', 'counter', 'Batch chunk attempts by outcome (counted, scored, skipped, failed_job, retry)'],
  ['edge_sessions_started_total', 'counter', 'Sessions created, by model'],
  ['edge_sessions_ended_total', 'counter', 'Sessions deleted (idle expiry is not counted)', true],
  ['edge_sessions_open', 'gauge', 'Sessions started minus sessions deleted: an upper bound, idle-expired sessions are not subtracted', true],
  ['edge_sequences_started_total', 'counter', 'Sequences started (sequence_start), by model'],
  ['edge_sequences_ended_total', 'counter', 'Sequences ended (sequence_end), by model'],
  ['edge_sequences_open', 'gauge', 'Sequences started minus ended, by model: an upper bound, idle-expired sequences are not subtracted'],
];

export interface VersionTotals {
  name: string;
  version: string;
  counters: VersionCounters;
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels) => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
};
const number = (value: number) => (Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN');

type Sample = { name: string; labels: Labels; value: number };

/** Renders the totals: `series` as the recorder keys them, `versions` from the statistics objects. */
export function exposition(series: Iterable<[string, number]>, versions: VersionTotals[]): string {
  const byFamily = new Map<string, Sample[]>();
  const push = (family: string, sample: Sample) => (byFamily.get(family) ?? byFamily.set(family, []).get(family)!).push(sample);
  for (const [key, value] of series) {
    const [name, labels] = parseKey(key);
    const family = name.replace(/_(bucket|sum)$/, '');
    push(family in HISTOGRAMS ? family : name, { name, labels, value });
  }

  // Derived: errors by status, from the requests.
  const errors = new Map<string, number>();
  for (const { labels, value } of byFamily.get('edge_requests_total') ?? []) {
    if (Number(labels.status) >= 400) errors.set(labels.status!, (errors.get(labels.status!) ?? 0) + value);
  }
  for (const [status, value] of errors) push('edge_errors_total', { name: 'edge_errors_total', labels: { status }, value });

  // Statistics: one series per served version.
  for (const { name: model, version, counters: c } of versions) {
    const labels = { model, version };
    push('edge_inferences_total', { name: 'edge_inferences_total', labels, value: c.inference_count });
    push('edge_inference_executions_total', { name: 'edge_inference_executions_total', labels, value: c.execution_count });
    push('edge_inference_failures_total', { name: 'edge_inference_failures_total', labels, value: c.fail_count });
  }

  // Gauges from started and ended counters.
  const total = (family: string) => (byFamily.get(family) ?? []).reduce((n, s) => n + s.value, 0);
  push('edge_sessions_open', { name: 'edge_sessions_open', labels: {}, value: Math.max(0, total('edge_sessions_started_total') - total('edge_sessions_ended_total')) });
  const open = new Map<string, number>();
  for (const { labels, value } of byFamily.get('edge_sequences_started_total') ?? []) open.set(labels.model!, (open.get(labels.model!) ?? 0) + value);
  for (const { labels, value } of byFamily.get('edge_sequences_ended_total') ?? []) open.set(labels.model!, (open.get(labels.model!) ?? 0) - value);
  for (const [model, value] of open) push('edge_sequences_open', { name: 'edge_sequences_open', labels: { model }, value: Math.max(0, value) });

  const lines: string[] = [];
  for (const [name, kind, help, unlabelled] of FAMILIES) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
    const samples = byFamily.get(name) ?? [];
    if (kind === 'histogram') {
      lines.push(...histogram(name, samples));
      continue;
    }
    // One line per label set (the recorder may hold the same set under equal keys from several isolates).
    const summed = new Map<string, number>();
    for (const s of samples) summed.set(labelText(s.labels), (summed.get(labelText(s.labels)) ?? 0) + s.value);
    if (unlabelled && !summed.size) summed.set('', 0);
    for (const [labels, value] of [...summed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`${name}${labels} ${number(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Cumulative buckets over the family's bounds, then `_sum` and `_count`, per label set. */
function histogram(family: string, samples: Sample[]): string[] {
  const bounds = [...HISTOGRAMS[family]!.map(String), '+Inf'];
  const groups = new Map<string, { labels: Labels; buckets: Map<string, number>; sum: number }>();
  for (const { name, labels: { le, ...labels }, value } of samples) {
    const text = labelText(labels);
    const group = groups.get(text) ?? groups.set(text, { labels, buckets: new Map(), sum: 0 }).get(text)!;
    if (name.endsWith('_sum')) group.sum += value;
    else group.buckets.set(le!, (group.buckets.get(le!) ?? 0) + value);
  }
  const lines: string[] = [];
  for (const [, { labels, buckets, sum }] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // +Inf (and the count) is every observation, whatever bounds an older deployment used.
    const count = [...buckets.values()].reduce((n, v) => n + v, 0);
    let below = 0;
    for (const le of bounds) {
      below += buckets.get(le) ?? 0;
      lines.push(`${family}_bucket${labelText({ ...labels, le })} ${le === '+Inf' ? count : below}`);
    }
    lines.push(`${family}_sum${labelText(labels)} ${number(sum)}`, `${family}_count${labelText(labels)} ${count}`);
  }
  return lines;
}
