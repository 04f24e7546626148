// The Worker's queue handler: R2 notifications start jobs, chunk messages are worked, dead letters fail jobs.
import { startJob } from './jobs';
import { isCreate, notificationSchema, parseInboxKey } from './notification';
import { runChunk } from './chunk-worker';
import { jobStubByName } from './job-object';
import type { ChunkMessage } from './job-types';

/** Retry delay doubles with each attempt, from BATCH_RETRY_SECONDS, to at most a minute. */
const backoff = (env: Env, attempts: number) => Math.min(60, Number(env.BATCH_RETRY_SECONDS) * 2 ** (attempts - 1));

export async function queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue.endsWith('-dlq')) return deadLetters(batch as MessageBatch<ChunkMessage>, env);
  if (batch.queue.endsWith('-events')) return notifications(batch, env);
  for (const message of batch.messages as readonly Message<ChunkMessage>[]) {
    try {
      await runChunk(env, message.body, message.attempts);
      message.ack();
    } catch (error) {
      console.error(`chunk ${message.body.chunk} of ${message.body.job}: ${String(error)}`);
      await jobStubByName(env, message.body.job).attemptFailed(message.body.chunk, String(error));
      message.retry({ delaySeconds: backoff(env, message.attempts) });
    }
  }
}

async function notifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = notificationSchema.safeParse(message.body);
    const inbox = parsed.success ? parseInboxKey(parsed.data.object.key) : undefined;
    // Only object creation under inbox/<consumer>/<model>/ starts a job; anything else is acknowledged and dropped.
    if (!parsed.success || !isCreate(parsed.data) || !inbox) {
      message.ack();
      continue;
    }
    try {
      await startJob(env, { consumer: inbox.consumer, model: inbox.model, inputKey: parsed.data.object.key });
      message.ack();
    } catch (error) {
      console.error(`notification for ${parsed.data.object.key}: ${String(error)}`);
      message.retry({ delaySeconds: backoff(env, message.attempts) });
    }
  }
}

async function deadLetters(batch: MessageBatch<ChunkMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const { job, chunk } = message.body;
    await jobStubByName(env, job).deadLettered(chunk);
    message.ack();
  }
}
