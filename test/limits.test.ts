// Per-tier limits: inference calls a minute (the rate-limiting binding), open sessions and active batch jobs;
// carol is on the "trial" tier (20 calls a minute, 2 sessions, 1 job), alice on "standard".
import { describe, expect, it } from 'vitest';
import sample from './fixtures/flights-sample.csv?raw';
import { call, expectError, postJson } from './client';

const iris = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

describe('tier limits', () => {
  it('refuses inference calls past the tier rate with 429, Retry-After and the reason; other consumers are unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await postJson('/v2/models/iris/infer', iris, 'carol')).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const refused = await postJson('/v2/models/iris/infer', iris, 'carol');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toBe('60');
    await expectError(refused, 429, /rate limit: consumer 'carol' \(tier 'trial'\)/);
    // Metadata is not an inference call; another consumer's calls are not carol's.
    expect((await call('/v2/models/iris', { as: 'carol' })).status).toBe(200);
    expect((await postJson('/v2/models/iris/infer', iris, 'alice')).status).toBe(200);
  });

  it('caps open sessions per consumer: the third of a trial consumer is refused until one ends', async () => {
    const create = () => postJson('/v2/sessions', { model: 'movielens' }, 'carol');
    const first = (await (await create()).json()) as { id: string };
    expect((await create()).status).toBe(201);
    const third = await create();
    expect(third.status).toBe(429);
    expect(third.headers.get('Retry-After')).toBe('30');
    await expectError(third, 429, /has 2 open sessions, the most its tier allows/);
    expect((await call(`/v2/sessions/${first.id}`, { method: 'DELETE', as: 'carol' })).status).toBe(204);
    expect((await create()).status).toBe(201);
  });

  it('caps active batch jobs per consumer: a second while one runs is refused, and allowed once it has ended', async () => {
    const settle = async (id: string) => {
      for (let i = 0; i < 400; i++) {
        const job = (await (await call(`/v2/batches/${id}`, { as: 'carol' })).json()) as { state: string };
        if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job.state;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`job ${id} did not end`);
    };
    const upload = (await (await call('/v2/batches/inbox/flights-delay/capped.csv', { method: 'PUT', body: sample, as: 'carol' })).json()) as { id: string; input: string };
    expect(await settle(upload.id)).toBe('succeeded');
    // 47 chunks, counted then scored: still running when the next request arrives.
    const slow = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: upload.input, options: { chunk_bytes: 1024 } }, 'carol')).json()) as { id: string };
    const refused = await postJson('/v2/batches', { model: 'flights-delay', input_key: upload.input }, 'carol');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toBe('30');
    await expectError(refused, 429, /has 1 queued or running batch jobs, the most its tier allows/);
    expect((await postJson('/v2/batches', { model: 'flights-delay', input_key: 'inbox/alice/flights-delay/none.csv' }, 'alice')).status).not.toBe(429);
    expect(await settle(slow.id)).toBe('succeeded');
    expect((await postJson('/v2/batches', { model: 'flights-delay', input_key: upload.input }, 'carol')).status).toBe(202);
  });
});
