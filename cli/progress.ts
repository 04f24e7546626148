// The batch progress line: a bar, records done / total, rows/s, ETA and errors so far.
import type { JobStatus } from '../client/index.ts';

export interface Progress {
  /** The last status read; undefined until the job exists. */
  status: JobStatus | undefined;
  /** Records in the input when known (counted locally before the upload). */
  total: number | undefined;
  elapsedMs: number;
  /** Time since the job was first seen past `queued`. */
  runningMs: number;
}

const BAR = 24;

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * One line; `width` (a terminal's) trims it so that \r redraws stay on one row. The server's own figures
 * (records.done / total, rows_per_second, eta_seconds) win when it sends them; else they are worked out here.
 */
export function progressLine({ status, total: localTotal, elapsedMs, runningMs }: Progress, width?: number): string {
  if (!status) return `[${' '.repeat(BAR)}]   0%  waiting for the job to start (${duration(elapsedMs / 1000)})`;
  const records = status.records as JobStatus['records'] & { done?: number; total?: number };
  const done = records.done ?? records.ok + records.failed;
  const total = records.total ?? localTotal;
  const finished = status.state === 'succeeded';
  const ended = finished || status.state === 'failed' || status.state === 'cancelled';
  let fraction = finished ? 1 : total ? Math.min(1, done / total) : status.progress / 100;
  if (!Number.isFinite(fraction)) fraction = 0;
  const filled = Math.round(fraction * BAR);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}]`;
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const count = total !== undefined ? `${done}/${total} records` : `${done} records`;
  const server = status as JobStatus & { rows_per_second?: number; eta_seconds?: number; chunks: { states?: { retrying: number } } };
  const rate = server.rows_per_second ?? (runningMs > 0 ? done / (runningMs / 1000) : 0);
  const left = total !== undefined ? Math.max(0, total - done) : undefined;
  const etaSeconds = server.eta_seconds ?? (left !== undefined && rate > 0 ? left / rate : Infinity);
  const eta = ended ? '' : `  ETA ${duration(etaSeconds)}`;
  const retrying = server.chunks.states?.retrying ? `  (${server.chunks.states.retrying} retrying)` : '';
  const parts = [bar, percent, count, `${Math.round(rate)} rows/s${eta}`, `errors ${records.failed}`, `chunks ${status.chunks.done}/${status.chunks.total}${retrying}`, status.state];
  const line = parts.join('  ');
  return width && line.length >= width ? line.slice(0, width - 1) : line;
}
