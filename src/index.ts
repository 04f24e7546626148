// Wires the Worker: the HTTP API, the batch queue consumer, and the Durable Object classes.
import { app } from './app';
import { queue } from './batch/queue';
import { flushStats, handOnStats } from './serving';
import { plainUnlessInference } from './http/compression';
import { startRuntime } from './runtime/data-plane';

// The one thing that runs at import time, on purpose: ONNX Runtime's wasm start-up (~200 ms of CPU, mostly V8
// compiling ORT's functions on first use) begins while the isolate loads, which Cloudflare overlaps with the TLS
// handshake, so a fresh isolate's first inference pays only for its model's session. It uses no I/O, timers or
// randomness (not allowed at global scope); a start that fails is retried by the first request that needs ORT.
startRuntime().catch(() => undefined);

export default {
  // An error that escapes Hono (thrown by the runtime itself) still answers the protocol's JSON.
  async fetch(request, env, ctx) {
    let response: Response;
    try {
      response = await app.fetch(request, env, ctx);
    } catch (error) {
      console.error(error);
      response = Response.json({ error: `internal error: ${String(error).slice(0, 300)}` }, { status: 500 });
    }
    handOnStats(env, ctx);
    return plainUnlessInference(request, response);
  },
  async queue(batch, env) {
    await queue(batch, env);
    await flushStats(env).catch(console.error); // no one waits on a queue batch's answer
  },
} satisfies ExportedHandler<Env>;
export { JobObject } from './batch/job-object';
export { ConsumersObject } from './consumers/consumers-object';
export { QuotaObject } from './consumers/quota-object';
export { SequenceObject } from './sessions/sequence-object';
export { SessionIndexObject } from './sessions/session-index-object';
export { SessionObject } from './sessions/session-object';
export { StatsObject } from './stats/stats-object';
