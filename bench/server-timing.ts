// Samples sequential requests on a warm server: the Server-Timing split (ONNX Runtime vs the rest of the
// handler) and, as a floor, the round trip of the unauthenticated /v2/health/live.
import { postInfer, timedRequest, type BenchRequest } from './requests.ts';
import { median } from './stats.ts';

export interface TimingResult {
  samples: number;
  inferMs: number;
  restMs: number;
  clientMs: number;
  /** Median round trip of GET /v2/health/live: the HTTP stack and runtime with no model work. */
  liveMs: number;
  /** Share of samples whose infer duration read exactly 0. */
  zeroInferShare: number;
  /** Smallest non-zero step seen between distinct infer/rest values. */
  resolutionMs: number;
}

function parse(header: string | undefined): { infer: number; rest: number } | undefined {
  const infer = header?.match(/infer;dur=([\d.]+)/)?.[1];
  const rest = header?.match(/rest;dur=([\d.]+)/)?.[1];
  return infer === undefined || rest === undefined ? undefined : { infer: Number(infer), rest: Number(rest) };
}

function resolution(values: number[]): number {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < distinct.length; i++) step = Math.min(step, distinct[i]! - distinct[i - 1]!);
  return step;
}

export async function sampleServerTiming(baseUrl: string, request: BenchRequest, samples: number): Promise<TimingResult> {
  const infer: number[] = [];
  const rest: number[] = [];
  const client: number[] = [];
  const live: number[] = [];
  for (let i = 0; i < samples; i++) {
    const reply = await postInfer(baseUrl, request);
    const timing = parse(reply.serverTiming);
    if (reply.status !== 200) throw new Error(`server-timing sample ${i}: HTTP ${reply.status} ${JSON.stringify(reply.json).slice(0, 200)}`);
    if (!timing) throw new Error(`server-timing sample ${i}: no usable Server-Timing header (got ${reply.serverTiming})`);
    infer.push(timing.infer);
    rest.push(timing.rest);
    client.push(reply.ms);
    live.push((await timedRequest(baseUrl, 'GET', '/v2/health/live')).ms);
  }
  return {
    samples,
    inferMs: median(infer),
    restMs: median(rest),
    clientMs: median(client),
    liveMs: median(live),
    zeroInferShare: infer.filter((v) => v === 0).length / samples,
    resolutionMs: resolution([...infer, ...rest]),
  };
}
