// Cold start: process spawn to /v2/health/live, then the first infer per model on the fresh process.
import { labelOf, postInfer, type BenchRequest } from './requests.ts';
import { waitUntilLive, type Server } from './servers.ts';

export interface ColdResult {
  spawnToLiveMs: number;
  /** Latency of each model's first infer request alone, in request order. */
  firstInferMs: Record<string, number>;
  /** Spawn to the end of the first successful infer response. */
  spawnToFirstInferMs: number;
}

export async function measureCold(server: Server, requests: BenchRequest[]): Promise<ColdResult> {
  const liveAt = await waitUntilLive(server);
  const firstInferMs: Record<string, number> = {};
  let spawnToFirstInferMs = NaN;
  for (const request of requests) {
    const reply = await postInfer(server.url, request);
    if (reply.status !== 200) throw new Error(`first ${request.model} infer on ${server.target} failed: ${labelOf(reply)}`);
    firstInferMs[request.model] = reply.ms;
    if (Number.isNaN(spawnToFirstInferMs)) spawnToFirstInferMs = performance.now() - server.spawnedAt;
  }
  return { spawnToLiveMs: liveAt - server.spawnedAt, firstInferMs, spawnToFirstInferMs };
}
