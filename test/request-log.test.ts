// Request logs: one JSON line per request with its id, consumer, route, model, version, status and time; never keys or payloads.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, postJson } from './client';

const lines = () => {
  const spy = vi.spyOn(console, 'log');
  return () => spy.mock.calls.map(([line]) => String(line)).filter((l) => l.startsWith('{') && l.includes('"request_id"')).map((l) => JSON.parse(l));
};

afterEach(() => vi.restoreAllMocks());

describe('request logs', () => {
  it('writes one line per request, echoing X-Request-Id, with consumer, route, model, version and status', async () => {
    const logged = lines();
    const response = await call('/v2/models/iris/versions/1/infer', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'req-42' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Request-Id')).toBe('req-42');
    const [line, ...more] = logged();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ request_id: 'req-42', method: 'POST', route: '/v2/models/:name/versions/:version/infer', model: 'iris', version: '1', model_version: '1', consumer: 'alice', status: 200 });
    expect(line.duration_ms).toBeGreaterThan(0);
    const text = JSON.stringify(line);
    expect(text).not.toContain('demo-key-alice');
    expect(text).not.toContain('5.1');
  });

  it('logs errors and unauthenticated calls too, with a generated id when none (or a bad one) is given', async () => {
    const logged = lines();
    const missing = await postJson('/v2/models/nope/infer', { inputs: [] });
    const anonymous = await call('/v2', { as: null, headers: { 'X-Request-Id': 'bad id with spaces' } });
    const [first, second] = logged();
    expect(first).toMatchObject({ route: '/v2/models/:name/infer', model: 'nope', status: 404, consumer: 'alice' });
    expect(first.request_id).toBe(missing.headers.get('X-Request-Id'));
    expect(first.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toMatchObject({ route: '/v2', status: 401 });
    expect(second).not.toHaveProperty('consumer');
    expect(second.request_id).toBe(anonymous.headers.get('X-Request-Id'));
    expect(second.request_id).not.toBe('bad id with spaces');
  });

  it('writes one line per batch chunk attempt: job, chunk, pass, outcome, counts and time', async () => {
    const spy = vi.spyOn(console, 'log');
    const rows = Array.from({ length: 40 }, (_, i) => `r${i},5.1,3.5,1.4,0.2`).join('\n');
    const upload = await call('/v2/batches/inbox/iris/logged.csv', { method: 'PUT', body: `id,sepal_length,sepal_width,petal_length,petal_width\n${rows}\n` });
    const { id } = (await upload.json()) as { id: string };
    for (let i = 0; i < 250; i++) {
      const job = (await (await call(`/v2/batches/${id}`)).json()) as { state?: string };
      if (job.state === 'succeeded' || job.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const chunks = spy.mock.calls.map(([l]) => String(l)).filter((l) => l.includes('"job"')).map((l) => JSON.parse(l));
    expect(chunks.filter((c) => c.job === `alice/${id}`)).toContainEqual(
      expect.objectContaining({ chunk: 0, phase: 'score', attempt: 1, outcome: 'scored', model: 'iris', ok: 40, failed: 0 }),
    );
  });
});
