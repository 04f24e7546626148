// The typed client (client/) against the Worker: the same module the console and the CLI use.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ApiError, createClient } from '../client/index.ts';
import reference from './fixtures/reference.json';
import movielens from './fixtures/movielens-reference.json';
import { KEYS } from './client';

const client = (key: string = KEYS.alice) => createClient({ url: 'http://edge.test', key, fetch: (url, init) => SELF.fetch(url, init) });

describe('typed client', () => {
  it('sends and receives typed arrays over the binary extension, equal to the JSON path and to onnxruntime-node', async () => {
    const rows = reference.iris.inputs.slice(0, 8);
    const input = { name: 'input', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) };
    const binary = await client().inferTensors('iris', [input], { outputs: ['probabilities', 'label'] });
    const json = await client().inferTensors('iris', [input], { outputs: ['probabilities', 'label'], binary: false });
    const probabilities = binary.outputs.find((o) => o.name === 'probabilities')!;
    expect(probabilities.datatype).toBe('FP32');
    expect(probabilities.data).toBeInstanceOf(Float32Array);
    expect(probabilities.shape).toEqual([8, 3]);
    const viaJson = json.outputs.find((o) => o.name === 'probabilities')!.data as Float32Array;
    const expected = reference.iris.probabilities.slice(0, 8).flat();
    (probabilities.data as Float32Array).forEach((p, i) => {
      expect(Math.abs(p - viaJson[i]!)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(p - expected[i]!)).toBeLessThanOrEqual(1e-5);
    });
    const label = binary.outputs.find((o) => o.name === 'label')!;
    expect(Array.from(label.data as BigInt64Array, Number)).toEqual(reference.iris.labels.slice(0, 8));
  });

  it('carries INT64 ids, strings and booleans both ways (the recommender graph)', async () => {
    const c = movielens.cases.find((x) => /5 animated/.test(x.name))!;
    const ids = (name: string, v: number[]) => ({ name, shape: [v.length], data: BigInt64Array.from(v, BigInt) });
    const answer = await client().inferTensors('movielens', [
      ids('rated_ids', c.rated_ids),
      { name: 'ratings', shape: [c.ratings.length], data: Float32Array.from(c.ratings) },
      ids('rejected_ids', []),
      ids('excluded_ids', []),
      ids('k', [c.k]),
    ]);
    const out = Object.fromEntries(answer.outputs.map((o) => [o.name, o]));
    expect(Array.from(out.item_ids!.data as BigInt64Array, Number)).toEqual(c.item_ids);
    expect(out.titles!.datatype).toBe('BYTES');
    expect((out.titles!.data as string[]).length).toBe(c.k);
    expect(out.rated_known!.datatype).toBe('BOOL');
    expect(Array.from(out.rated_known!.data as Uint8Array)).toEqual(c.rated_ids.map(() => 1));
  });

  it("throws ApiError with the server's status and message", async () => {
    const missing = await client().models.metadata('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).status).toBe(404);
    expect((missing as ApiError).message).toMatch(/Request for unknown model: 'nope' is not found/);
    const unauthorised = await client('wrong-key').server().catch((e: unknown) => e);
    expect((unauthorised as ApiError).status).toBe(401);
  });

  it('drives a session: start, recommend, try again, history', async () => {
    const c = client();
    const session = await c.sessions.create({ model: 'movielens', context: { ratings: [{ item_id: 1, rating: 5 }] } });
    const first = await c.sessions.recommend(session.id, 2);
    const again = await c.sessions.tryAgain(session.id, 2);
    expect(again.items.map((i) => i.item_id)).not.toEqual(expect.arrayContaining(first.items.map((i) => i.item_id)));
    const summary = await c.sessions.get(session.id);
    expect(summary.history.map((h) => h.action)).toEqual(['start', 'rate', 'recommend', 'reject', 'reject', 'try_again']);
  });
});
