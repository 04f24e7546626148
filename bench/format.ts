// Number formatting and lookups shared by the report tables and the findings text.
import type { LoadResult } from './load.ts';
import type { ModelName } from './requests.ts';
import type { BenchData } from './report.ts';
import type { Target } from './servers.ts';

export const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));
export const int = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : Math.round(v).toLocaleString('en-US'));
export const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}×`);
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export function loadAt(data: BenchData, target: Target, model: ModelName, connections: number): LoadResult | undefined {
  return data.load[target]?.[model]?.find((r) => r.connections === connections);
}

export function bestRps(data: BenchData, target: Target, model: ModelName): LoadResult | undefined {
  return data.load[target]?.[model]?.reduce<LoadResult | undefined>((best, r) => (!best || r.rps > best.rps ? r : best), undefined);
}
