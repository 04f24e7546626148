// Wires the Worker: the HTTP API, the batch queue consumer, and the Durable Object classes.
import { app } from './app';
import { queue } from './batch/queue';
import { flushStats, handOnStats } from './serving';
import { plainUnlessInference } from './http/compression';

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
