// Model memory: a version whose load grows ONNX Runtime's wasm heap past what the isolate can hold is refused.
import { describe, expect, it } from 'vitest';
import heapHog from './fixtures/models/heap-hog.onnx';
import irisV2 from './fixtures/models/iris-v2.onnx';
import { call, expectError, postJson } from './client';

const put = (name: string, body: ArrayBuffer) => call(`/v2/repository/models/${name}/versions/1/model.onnx`, { method: 'PUT', body });

describe('model memory', () => {
  it('refuses a 200-byte graph that allocates 160 MB, and keeps serving and loading other models', async () => {
    expect(heapHog.byteLength).toBeLessThan(1024);
    await expectError(await put('hog', heapHog), 400, /failed to load 'hog' version 1: .*wasm heap to \d+ MiB; at most 96 MiB/);
    await expectError(await call('/v2/models/hog'), 404, /Request for unknown model: 'hog' is not found/);
    expect((await put('small', irisV2)).status).toBe(201);
    const answer = await postJson('/v2/models/small/infer', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
    expect(answer.status).toBe(200);
  });

  it("bounds one request by the model's max_input_elements before decoding it", async () => {
    // 10,000 rated ids through /infer: the graph compares each with every movie.
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const request = {
      inputs: [
        { name: 'rated_ids', shape: [ids.length], datatype: 'INT64', data: ids },
        { name: 'ratings', shape: [ids.length], datatype: 'FP32', data: ids.map(() => 4) },
        { name: 'rejected_ids', shape: [0], datatype: 'INT64', data: [] },
        { name: 'excluded_ids', shape: [0], datatype: 'INT64', data: [] },
        { name: 'k', shape: [1], datatype: 'INT64', data: [5] },
      ],
    };
    await expectError(await postJson('/v2/models/movielens/infer', request), 400, /input 'rated_ids': 10000 elements; model 'movielens' takes at most 200 \(max_input_elements\)/);
    await expectError(await postJson('/v2/models/iris/infer', { inputs: [{ name: 'input', shape: [100_000_000, 4], datatype: 'FP32', data: [] }] }), 400, /max_input_elements|max_batch_size/);
  });
});
