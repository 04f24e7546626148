// Triton's sequence extension: streamed Silero VAD with state carried by the server, and its errors.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import vad from './fixtures/vad-reference.json';
import { call, expectError, postJson } from './client';

const INFER = '/v2/models/silero-vad/infer';
const chunk = (i: number, parameters: Record<string, unknown>) => ({
  parameters,
  inputs: [
    { name: 'input', shape: [1, vad.chunk], datatype: 'FP32', data: vad.chunks[i] },
    { name: 'sr', shape: [], datatype: 'INT64', data: [vad.sample_rate] },
  ],
});
const probability = async (response: Response) => {
  const body = (await response.json()) as any;
  if (response.status !== 200) throw new Error(JSON.stringify(body));
  expect(body.outputs.map((o: any) => o.name)).toEqual(['output']);
  return body.outputs[0].data[0] as number;
};

describe('streaming voice activity detection', () => {
  it('advertises the sequence extension', async () => {
    expect(((await (await call('/v2')).json()) as any).extensions).toContain('sequence');
  });

  it('matches onnxruntime-node run over the whole audio, chunk by chunk, within 1e-4', async () => {
    const last = vad.chunks.length - 1;
    const streamed: number[] = [];
    for (let i = 0; i <= last; i++) {
      const response = await postJson(INFER, chunk(i, { sequence_id: 'speech-1', sequence_start: i === 0, sequence_end: i === last }));
      streamed.push(await probability(response));
    }
    streamed.forEach((p, i) => expect(Math.abs(p - vad.probabilities[i]!), `chunk ${i}`).toBeLessThanOrEqual(1e-4));
    // Real speech: the detector fires in the sentences and stays quiet in the leading silence.
    expect(Math.max(...streamed)).toBeGreaterThan(0.99);
    expect(Math.max(...streamed.slice(0, 10))).toBeLessThan(0.05);
    // sequence_end deleted it
    await expectError(await postJson(INFER, chunk(0, { sequence_id: 'speech-1' })), 400, /not active.*sequence_start/);
  });

  it('keeps interleaved sequences apart, and integer ids apart from string ids', async () => {
    const a = await probability(await postJson(INFER, chunk(20, { sequence_id: 7, sequence_start: true })));
    const b = await probability(await postJson(INFER, chunk(0, { sequence_id: '7', sequence_start: true })));
    const a2 = await probability(await postJson(INFER, chunk(21, { sequence_id: 7 })));
    const fresh = await probability(await postJson(INFER, chunk(21, { sequence_id: 8, sequence_start: true })));
    expect(a).not.toBe(b);
    expect(a2).not.toBe(fresh); // the same audio without the carried state gives another answer
  });

  it("keeps one consumer's sequence from another", async () => {
    await probability(await postJson(INFER, chunk(0, { sequence_id: 'mine', sequence_start: true })));
    await expectError(await postJson(INFER, chunk(1, { sequence_id: 'mine' }), 'bob'), 400, /not active/);
  });

  it('expires an idle sequence through its alarm', async () => {
    await probability(await postJson(INFER, chunk(0, { sequence_id: 'idle', sequence_start: true })));
    const stub = env.SEQUENCES.get(env.SEQUENCES.idFromName('alice/silero-vad/"idle"'));
    // The alarm only deletes once the idle time has passed: before that it re-arms.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await postJson(INFER, chunk(1, { sequence_id: 'idle' }))).status).toBe(200);
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec('UPDATE sequence SET last_active = 0'));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const tables = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(tables).toEqual([]);
    await expectError(await postJson(INFER, chunk(2, { sequence_id: 'idle' })), 400, /not active/);
  });

  it.each([
    [{ sequence_id: 0, sequence_start: true }, /sequence_id must be a non-zero integer/],
    [{ sequence_id: '', sequence_start: true }, /sequence_id must be/],
    [{ sequence_id: 'x', sequence_start: 'yes' }, /sequence_start must be true or false/],
    [{ sequence_start: true }, /need parameters.sequence_id/],
    [{ sequence_id: 'never-started' }, /not active/],
  ])('rejects %j', async (parameters, pattern) => {
    await expectError(await postJson(INFER, chunk(0, parameters)), 400, pattern);
  });

  it('refuses client-sent state, non-sequence models and unstreamable shapes', async () => {
    const withState = chunk(0, { sequence_id: 's', sequence_start: true });
    withState.inputs.push({ name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: Array(256).fill(0) } as never);
    await expectError(await postJson(INFER, withState), 400, /sequence state that the server carries/);
    await expectError(
      await postJson('/v2/models/iris/infer', { parameters: { sequence_id: 1, sequence_start: true }, inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
      400,
      /not a sequence model/,
    );
    const batched = chunk(0, { sequence_id: 'b', sequence_start: true });
    batched.inputs[0] = { name: 'input', shape: [2, 256], datatype: 'FP32', data: vad.chunks[0]! };
    await expectError(await postJson(INFER, batched), 400, /shape \[1, \.\.\., n\]/);
  });
});
