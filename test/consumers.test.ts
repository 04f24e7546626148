// The consumer registry: admins add consumers (the key shown once), list and revoke them; auth reads the registry
// through a per-isolate cache (CONSUMER_CACHE_SECONDS, 1 s in tests), and the CONSUMER_KEYS secret's keys still work.
import { env, SELF } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requireConsumer } from '../src/auth';
import { consumersStub } from '../src/consumers/consumers-object';
import { call, expectError, postJson } from './client';

const KEY = /^ei_[A-Za-z0-9_-]{43}$/;
const withKey = (key: string, path: string, init: RequestInit = {}) =>
  SELF.fetch(`http://edge.test${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${key}` } });
const add = (body: unknown, as: 'alice' | 'bob' = 'alice') => postJson('/v2/consumers', body, as);
const list = async () => ((await (await call('/v2/consumers')).json()) as { consumers: Record<string, unknown>[] }).consumers;
const revoke = (id: string, as: 'alice' | 'bob' = 'alice') => call(`/v2/consumers/${id}`, { method: 'DELETE', as });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const iris = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

async function created(body: unknown): Promise<{ key: string; [field: string]: unknown }> {
  const response = await add(body);
  expect(response.status).toBe(201);
  return (await response.json()) as { key: string };
}

describe('adding a consumer', () => {
  it('answers 201 with the key, once, and the key works on /v2 routes', async () => {
    const response = await add({ consumer: 'dave' });
    expect(response.status).toBe(201);
    expect(response.headers.get('Location')).toBe('/v2/consumers/dave');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ consumer: 'dave', admin: false, tier: 'standard', source: 'registry', created_at: expect.any(String), revoked_at: null, key: expect.stringMatching(KEY) });
    const key = body.key as string;

    expect((await withKey(key, '/v2')).status).toBe(200);
    const inferred = await withKey(key, '/v2/models/iris/infer', { method: 'POST', body: JSON.stringify(iris), headers: { 'Content-Type': 'application/json' } });
    expect(inferred.status).toBe(200);
    // Not an admin: the repository and the consumers stay closed.
    await expectError(await withKey(key, '/v2/consumers'), 403, /consumer 'dave' may not manage consumers/);
    await expectError(await withKey(key, '/v2/repository/models/iris/unload', { method: 'POST', body: '{}' }), 403, /dave/);

    // The key is never shown again: the listing has neither it nor its hash.
    const listed = await list();
    const dave = listed.find((c) => c.consumer === 'dave');
    expect(dave).toEqual({ consumer: 'dave', admin: false, tier: 'standard', source: 'registry', created_at: body.created_at, revoked_at: null });
    const text = JSON.stringify(listed);
    expect(text).not.toContain(key);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(text).not.toMatch(/hash|"key"/);
  });

  it('lists the bootstrap consumers of the secret too', async () => {
    const listed = await list();
    expect(listed).toEqual(
      expect.arrayContaining([
        { consumer: 'alice', admin: true, tier: 'standard', source: 'secret', created_at: null, revoked_at: null },
        { consumer: 'bob', admin: false, tier: 'standard', source: 'secret', created_at: null, revoked_at: null },
      ]),
    );
  });

  it('gives an admin consumer with a tier, who may manage consumers', async () => {
    const ivy = await created({ consumer: 'ivy', admin: true, tier: 'gold' });
    expect(ivy).toMatchObject({ consumer: 'ivy', admin: true, tier: 'gold' });
    const response = await withKey(ivy.key, '/v2/consumers', { method: 'POST', body: JSON.stringify({ consumer: 'erin' }), headers: { 'Content-Type': 'application/json' } });
    expect(response.status).toBe(201);
    expect((await withKey(ivy.key, '/v2/consumers')).status).toBe(200);
  });

  it('exposes the consumer with its tier to the routes (c.var.consumer)', async () => {
    const frank = await created({ consumer: 'frank', tier: 'batch-heavy' });
    const probe = new Hono<{ Bindings: Env }>().use(requireConsumer()).get('/', (c) => c.json(c.var.consumer));
    const seen = async (key: string) => (await probe.request('/', { headers: { Authorization: `Bearer ${key}` } }, env)).json();
    expect(await seen(frank.key)).toEqual({ id: 'frank', admin: false, tier: 'batch-heavy' });
    expect(await seen('demo-key-alice')).toEqual({ id: 'alice', admin: true, tier: 'standard' });
  });
});

describe('refusals', () => {
  it('is for admins only: a non-admin gets 403 on every route', async () => {
    await expectError(await add({ consumer: 'mallory' }, 'bob'), 403, /consumer 'bob' may not manage consumers/);
    await expectError(await call('/v2/consumers', { as: 'bob' }), 403, /bob/);
    await expectError(await revoke('dave', 'bob'), 403, /bob/);
    await expectError(await call('/v2/consumers', { as: null }), 401, /Authorization/);
  });

  it('answers a bad body with 400 naming the field', async () => {
    await expectError(await add({ consumer: 'has space' }), 400, /^request body: consumer: must be 1-64 letters/);
    await expectError(await add({ consumer: 'x'.repeat(65) }), 400, /consumer:/);
    await expectError(await add({}), 400, /consumer:/);
    await expectError(await add({ consumer: 'gina', admin: 'yes' }), 400, /admin:/);
    await expectError(await add({ consumer: 'gina', tier: '' }), 400, /tier: must be 1-32/);
    await expectError(await add({ consumer: 'gina', admn: true }), 400, /admn/);
    await expectError(await add([1]), 400, /expected object/);
    await expectError(await call('/v2/consumers', { method: 'POST', body: '{"consumer":' }), 400, /not valid JSON/);
    await expectError(await call('/v2/consumers', { method: 'POST' }), 400, /consumer:/);
    expect((await list()).some((c) => c.consumer === 'gina')).toBe(false);
  });

  it('answers 409 for an existing id, and for a bootstrap consumer of the secret', async () => {
    await created({ consumer: 'hank' });
    await expectError(await add({ consumer: 'hank', admin: true }), 409, /consumer 'hank' already exists/);
    await expectError(await add({ consumer: 'alice' }), 409, /bootstrap consumer from the CONSUMER_KEYS secret/);
    await expectError(await revoke('bob'), 409, /bootstrap/);
  });

  it('answers 404 for revoking an unknown consumer', async () => {
    await expectError(await revoke('nobody'), 404, /consumer 'nobody' not found/);
    await expectError(await revoke('bad%20id'), 404, /not found/);
  });
});

describe('revoking', () => {
  it('makes the key fail with 401 (204), lists it as revoked, and can re-issue the id with a new key', async () => {
    const ivan = await created({ consumer: 'ivan' });
    expect((await withKey(ivan.key, '/v2')).status).toBe(200);
    const response = await revoke('ivan');
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    await expectError(await withKey(ivan.key, '/v2'), 401, /invalid API key/);
    await expectError(await revoke('ivan'), 404, /already revoked/);
    const listed = (await list()).find((c) => c.consumer === 'ivan');
    expect(listed).toMatchObject({ consumer: 'ivan', revoked_at: expect.any(String) });

    const again = await created({ consumer: 'ivan' });
    expect(again.key).not.toBe(ivan.key);
    expect((await withKey(again.key, '/v2')).status).toBe(200);
    await expectError(await withKey(ivan.key, '/v2'), 401, /invalid API key/);
  });

  it('takes effect in another isolate once its cache expires (CONSUMER_CACHE_SECONDS)', async () => {
    const judy = await created({ consumer: 'judy' });
    expect((await withKey(judy.key, '/v2')).status).toBe(200); // this isolate now holds a snapshot with judy
    // Revoked straight in the registry, as another isolate's admin request would: this isolate's snapshot is unchanged.
    const revoked = await consumersStub(env).revoke('judy');
    expect(revoked.ok).toBe(true);
    expect((await withKey(judy.key, '/v2')).status).toBe(200);
    await sleep(1_100);
    await expectError(await withKey(judy.key, '/v2'), 401, /invalid API key/);
  });

  it('lets a new consumer in at once, even with a fresh snapshot in the cache', async () => {
    const seeded = await created({ consumer: 'kim' });
    expect((await withKey(seeded.key, '/v2')).status).toBe(200);
    // Added straight in the registry (another isolate): an unknown key re-reads a snapshot older than 2 s at most.
    const key = 'ei_added-elsewhere-0123456789abcdefghijklmnopqrs';
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))), (b) => b.toString(16).padStart(2, '0')).join('');
    expect((await consumersStub(env).add({ id: 'lee', keyHash: hash, admin: false, tier: 'standard' })).ok).toBe(true);
    await sleep(1_100);
    expect((await withKey(key, '/v2')).status).toBe(200);
  });
});

describe('the bootstrap secret', () => {
  it('still authenticates its keys, unaffected by the registry', async () => {
    expect((await call('/v2', { as: 'alice' })).status).toBe(200);
    expect((await call('/v2', { as: 'bob' })).status).toBe(200);
    await expectError(await withKey('ei_made-up', '/v2'), 401, /invalid API key/);
  });
});
