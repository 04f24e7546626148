// Recommendation sessions on Durable Objects: ownership, never-repeat, fold-in, pinned versions, expiry, eviction.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import movies from '../data/movielens-small/movies.csv?raw';
import movielens from '../models/movielens/1/model.onnx';
import reference from './fixtures/movielens-reference.json';
import { call, expectError, postJson } from './client';

type Case = { name: string; rated_ids: number[]; ratings: number[]; rejected_ids: number[]; excluded_ids: number[]; k: number; item_ids: number[]; scores: number[] };
const cases = reference.cases as Case[];
const byName = (pattern: RegExp) => cases.find((c) => pattern.test(c.name))!;
const ratingsOf = (c: Case) => c.rated_ids.map((item_id, i) => ({ item_id, rating: c.ratings[i]! }));
/** Scores agree with the plain TypeScript reference within 1e-4 of the case's top score. */
const expectScores = (got: number[], c: Case) => got.forEach((x, i) => expect(Math.abs(x - c.scores[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(c.scores[0]!)));

/** MovieLens genres by movie id, read from the data set itself rather than from the model. */
const genres = new Map((parse(movies, { from_line: 2 }) as string[][]).map(([id, , , g]) => [Number(id), g!.split('|')]));
const share = (ids: number[], wanted: string[]) => ids.filter((id) => genres.get(id)!.some((g) => wanted.includes(g))).length / ids.length;

async function create(context: unknown = {}, as: 'alice' | 'bob' = 'alice', model = 'movielens') {
  const response = await postJson('/v2/sessions', { model, context }, as);
  const body = (await response.json()) as any;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body as { id: string; url: string; model_version: string };
}
const step = async (id: string, action: 'recommend' | 'try-again', k = 1, as: 'alice' | 'bob' = 'alice') => {
  const response = await postJson(`/v2/sessions/${id}/${action}`, { k }, as);
  const body = (await response.json()) as any;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body as { step: number; model_version: string; items: { item_id: number; title: string; score: number }[] };
};
const stubOf = (id: string, consumer = 'alice') => env.SESSIONS.get(env.SESSIONS.idFromName(`${consumer}/${id}`));

describe('session resources', () => {
  it('creates, describes, lists and ends a session', async () => {
    const response = await postJson('/v2/sessions', { model: 'movielens' });
    expect(response.status).toBe(201);
    const created = (await response.json()) as any;
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    expect(response.headers.get('Location')).toBe(`/v2/sessions/${created.id}`);
    expect(created).toMatchObject({ url: `/v2/sessions/${created.id}`, model: 'movielens', model_version: '1', ratings: 0, shown: 0 });

    const answer = await step(created.id, 'recommend', 3);
    expect(answer.items).toHaveLength(3);
    const summary = (await (await call(`/v2/sessions/${created.id}`)).json()) as any;
    expect(summary.shown).toBe(3);
    expect(summary.history.map((h: any) => h.action)).toEqual(['start', 'recommend']);
    expect(summary.history[1].items.map((i: any) => i.item_id)).toEqual(answer.items.map((i) => i.item_id));

    const listed = (await (await call('/v2/sessions')).json()) as any;
    expect(listed.sessions.map((s: any) => s.id)).toContain(created.id);

    expect((await call(`/v2/sessions/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    await expectError(await call(`/v2/sessions/${created.id}`), 404, /session not found/);
    expect(((await (await call('/v2/sessions')).json()) as any).sessions.map((s: any) => s.id)).not.toContain(created.id);
    const left = await runInDurableObject(stubOf(created.id), (_, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(left).toEqual([]);
  });

  it("hides one consumer's sessions from another on every route", async () => {
    const { id } = await create();
    await expectError(await call(`/v2/sessions/${id}`, { as: 'bob' }), 404, /session not found/);
    await expectError(await postJson(`/v2/sessions/${id}/recommend`, {}, 'bob'), 404, /session not found/);
    await expectError(await postJson(`/v2/sessions/${id}/try-again`, {}, 'bob'), 404, /session not found/);
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'rate', item_id: 1, rating: 5 }, 'bob'), 404, /session not found/);
    await expectError(await call(`/v2/sessions/${id}`, { method: 'DELETE', as: 'bob' }), 404, /session not found/);
    expect(((await (await call('/v2/sessions', { as: 'bob' })).json()) as any).sessions.map((s: any) => s.id)).not.toContain(id);
    expect((await call(`/v2/sessions/${id}`)).status).toBe(200);
  });
});

describe('recommendations', () => {
  it('ranks in the graph exactly as the reference maths does for a cold start', async () => {
    const cold = byName(/cold/i);
    const { id } = await create();
    const answer = await step(id, 'recommend', cold.k);
    expect(answer.items.map((i) => i.item_id)).toEqual(cold.item_ids);
    expectScores(answer.items.map((i) => i.score), cold);
    expect(answer.items.every((i) => i.title.length > 0)).toBe(true);
  });

  it('never repeats an item, even under 20 parallel "try again" calls', async () => {
    const { id } = await create();
    const first = await step(id, 'recommend');
    const again = await Promise.all(Array.from({ length: 20 }, () => step(id, 'try-again')));
    const items = [first, ...again].map((a) => a.items[0]!.item_id);
    expect(new Set(items).size).toBe(21);
    expect(new Set(again.map((a) => a.step)).size).toBe(20);
    const summary = (await (await call(`/v2/sessions/${id}`)).json()) as any;
    expect(summary.history.filter((h: any) => h.action === 'reject').map((h: any) => h.item_id).sort()).toEqual(items.slice(0, 20).sort());
  });

  it('folds ratings into a new user: context ratings give the reference answer, later ratings change it', async () => {
    const fan = byName(/\(b\)|fan|genre|animat/i);
    const { id } = await create({ ratings: ratingsOf(fan) });
    const answer = await step(id, 'recommend', fan.k);
    expect(answer.items.map((i) => i.item_id)).toEqual(fan.item_ids);
    expectScores(answer.items.map((i) => i.score), fan);

    const cold = byName(/cold/i);
    expect(answer.items.map((i) => i.item_id)).not.toEqual(cold.item_ids);

    const widened = byName(/also/i);
    const extra = ratingsOf(widened).filter((r) => !fan.rated_ids.includes(r.item_id));
    for (const r of extra) {
      const response = await postJson(`/v2/sessions/${id}/feedback`, { action: 'rate', ...r });
      expect(response.status).toBe(200);
    }
    const after = await step(id, 'recommend', 5);
    const shown = new Set(answer.items.map((i) => i.item_id));
    const expected = widened.item_ids.filter((item) => !shown.has(item) && !extra.some((r) => r.item_id === item));
    expect(after.items[0]!.item_id).toBe(expected[0]);
  });

  it('records accept and reject feedback and excludes those items', async () => {
    const { id } = await create();
    const answer = await step(id, 'recommend', 2);
    const [a, b] = answer.items;
    expect((await postJson(`/v2/sessions/${id}/feedback`, { action: 'accept', item_id: a!.item_id })).status).toBe(200);
    expect((await postJson(`/v2/sessions/${id}/feedback`, { action: 'reject', item_id: b!.item_id })).status).toBe(200);
    const summary = (await (await call(`/v2/sessions/${id}`)).json()) as any;
    expect(summary.history.slice(-2)).toMatchObject([
      { action: 'accept', item_id: a!.item_id },
      { action: 'reject', item_id: b!.item_id },
    ]);
  });
});

describe('personalisation', () => {
  it('answers every reference case through /infer as the plain TypeScript maths does', async () => {
    for (const c of cases) {
      const ids = (name: string, data: number[]) => ({ name, shape: [data.length], datatype: 'INT64', data });
      const response = await postJson('/v2/models/movielens/infer', {
        inputs: [
          ids('rated_ids', c.rated_ids),
          { name: 'ratings', shape: [c.ratings.length], datatype: 'FP32', data: c.ratings },
          ids('rejected_ids', c.rejected_ids),
          ids('excluded_ids', c.excluded_ids),
          ids('k', [c.k]),
        ],
      });
      const body = (await response.json()) as any;
      expect(response.status, JSON.stringify(body)).toBe(200);
      const output = (name: string) => body.outputs.find((o: any) => o.name === name).data;
      expect(output('item_ids'), c.name).toEqual(c.item_ids);
      expectScores(output('scores'), c);
    }
  });

  it('gives a user who rates only animated films mostly animated or children\'s films, and a horror fan horror', async () => {
    for (const [pattern, wanted] of [[/5 animated/, ['Animation', 'Children']], [/5 horror/, ['Horror']]] as const) {
      const c = byName(pattern);
      const { id } = await create({ ratings: ratingsOf(c) });
      const top = (await step(id, 'recommend', 10)).items.map((i) => i.item_id);
      expect(top).toEqual(c.item_ids);
      expect(share(top, [...wanted])).toBeGreaterThanOrEqual(0.7);
    }
  });

  it('learns from rejections: after three animated films are rejected, fewer animated films come next', async () => {
    const fan = byName(/5 animated/);
    const rejecting = byName(/rejects three/);
    const excluding = byName(/rejects nothing/);
    const { id } = await create({ ratings: ratingsOf(fan) });
    const shown = (await step(id, 'recommend', 10)).items.map((i) => i.item_id);
    expect(shown).toEqual(rejecting.excluded_ids);
    for (const item_id of rejecting.rejected_ids) {
      expect(share([item_id], ['Animation'])).toBe(1);
      expect((await postJson(`/v2/sessions/${id}/feedback`, { action: 'reject', item_id })).status).toBe(200);
    }
    const next = (await step(id, 'recommend', 10)).items.map((i) => i.item_id);
    expect(next).toEqual(rejecting.item_ids);
    // The same ten only hidden, not rejected, keep more animated films: the rejections pushed the answer away.
    expect(share(next, ['Animation'])).toBeLessThan(share(excluding.item_ids, ['Animation']));
  });
});

describe('durability', () => {
  it('pins the model version it started with across an upload', async () => {
    const old = await create();
    const upload = await call('/v2/repository/models/movielens/versions/2/model.onnx', { method: 'PUT', body: movielens });
    expect(upload.status).toBe(201);
    expect((await step(old.id, 'recommend')).model_version).toBe('1');
    const fresh = await create();
    expect(fresh.model_version).toBe('2');
    expect((await step(fresh.id, 'recommend')).model_version).toBe('2');
  });

  it('keeps its state when the object is evicted and restarted', async () => {
    const { id } = await create();
    const before = await step(id, 'recommend', 3);
    await evictDurableObject(stubOf(id));
    const summary = (await (await call(`/v2/sessions/${id}`)).json()) as any;
    expect(summary.shown).toBe(3);
    const after = await step(id, 'try-again', 3);
    expect(after.items.some((i) => before.items.some((b) => b.item_id === i.item_id))).toBe(false);
  });

  it('expires an idle session through its alarm, leaving no storage', async () => {
    const { id } = await create();
    const stub = stubOf(id);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // not idle long enough: it re-arms
    expect((await call(`/v2/sessions/${id}`)).status).toBe(200);
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec('UPDATE session SET last_active = 0'));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(left).toEqual([]);
    await expectError(await call(`/v2/sessions/${id}`), 404, /expired/);
    expect(((await (await call('/v2/sessions')).json()) as any).sessions.map((s: any) => s.id)).not.toContain(id);
  });
});

describe('bad input', () => {
  it('answers clear 4xx errors', async () => {
    const { id } = await create();
    await expectError(await call(`/v2/sessions/${'0'.repeat(32)}`), 404, /session not found/);
    await expectError(await call('/v2/sessions/not-an-id'), 404, /session not found/);
    await expectError(await postJson(`/v2/sessions/${id}/try-again`, {}), 400, /nothing to try again/);
    await expectError(await postJson(`/v2/sessions/${id}/recommend`, { k: 0 }), 400, /k:/);
    await expectError(await postJson(`/v2/sessions/${id}/recommend`, { k: 51 }), 400, /k:/);
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'accept', item_id: 1 }), 400, /was not recommended in this session/);
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'rate', item_id: 1, rating: 7 }), 400, /rating/);
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'love', item_id: 1 }), 400, /action/);
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'rate', item_id: 99999999, rating: 4 }), 400, /99999999 is not an item/);
    await expectError(await call(`/v2/sessions/${id}/feedback`, { method: 'POST', body: '{' }), 400, /not valid JSON/);
    await expectError(await postJson('/v2/sessions', { model: 'iris' }), 400, /does not support sessions/);
    await expectError(await postJson('/v2/sessions', { model: 'nope' }), 404, /not found/);
    await expectError(await postJson('/v2/sessions', {}), 400, /model/);
    await expectError(await postJson('/v2/sessions', { model: 'movielens', context: { ratings: [{ item_id: 99999999, rating: 4 }] } }), 400, /unknown item_id 99999999/);
    await expectError(await call('/v2/sessions', { as: null }), 401, /Authorization/);
    const many = Array.from({ length: 201 }, (_, i) => ({ item_id: i + 1, rating: 3 }));
    await expectError(await postJson('/v2/sessions', { model: 'movielens', context: { ratings: many } }), 400, /context.ratings: Too big/i);
  });

  it('bounds what one session holds, so the graph stays within the isolate', async () => {
    const { id } = await create();
    await expectError(await postJson(`/v2/sessions/${id}/recommend`, { k: 50 }).then(async () => {
      for (let i = 0; i < 9; i++) await postJson(`/v2/sessions/${id}/recommend`, { k: 50 });
      return postJson(`/v2/sessions/${id}/recommend`, { k: 50 });
    }), 409, /seen 500 items.*500.*start a new session/);
    // Rating items never shown would grow what the graph excludes past the cap: refused too.
    const shown = new Set(((await (await call(`/v2/sessions/${id}`)).json()) as any).history.flatMap((s: any) => s.items ?? []).map((i: any) => i.item_id));
    const unseen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].find((item) => !shown.has(item))!;
    await expectError(await postJson(`/v2/sessions/${id}/feedback`, { action: 'rate', item_id: unseen, rating: 4 }), 409, /seen 500 items/);
  });
});
