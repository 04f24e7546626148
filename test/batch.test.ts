// Offline batch: inbox upload → notification → job → chunks through Queues → results in R2, with every failure path.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import awkward from './fixtures/flights-awkward.csv?raw';
import expectedAwkward from './fixtures/flights-awkward.json';
import reference from './fixtures/flights-reference.json';
import sample from './fixtures/flights-sample.csv?raw';
import irisReference from './fixtures/reference.json';
import { stageGzip } from '../src/batch/chunk-reader';
import worker from '../src/index';
import { call, expectError, postJson } from './client';

type Status = { id: string; state: string; reason?: string; records: { ok: number; failed: number }; chunks: { done: number; total: number }; progress: number; output: string };

const upload = async (model: string, file: string, body: BodyInit, as: 'alice' | 'bob' = 'alice') => {
  const response = await call(`/v2/batches/inbox/${model}/${file}`, { method: 'PUT', body, as });
  const json = (await response.json()) as any;
  expect(response.status, JSON.stringify(json)).toBe(202);
  return json as { id: string; input: string };
};
const status = async (id: string, as: 'alice' | 'bob' = 'alice') => (await (await call(`/v2/batches/${id}`, { as })).json()) as Status;
async function settle(id: string, timeoutMs = 25_000): Promise<Status> {
  const started = Date.now();
  for (;;) {
    const response = await call(`/v2/batches/${id}`);
    if (response.status === 200) {
      const job = (await response.json()) as Status;
      if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const lines = async (path: string) => (await (await call(path)).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('CSV through R2, Queues and back', () => {
  it('scores every row of an uploaded CSV, in input order, equal to onnxruntime-node', async () => {
    const { id, input } = await upload('flights-delay', 'sample.csv', sample);
    const job = await settle(id);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0 }, progress: 100 });
    const output = await lines(`/v2/batches/${id}/output`);
    expect(output).toHaveLength(reference.rows.length);
    output.forEach((row, i) => {
      const want = reference.rows[i]!;
      expect(row.line).toBe(want.line);
      expect(row.id).toBe(String(want.id));
      expect(Math.abs(row.outputs.probability - want.probability)).toBeLessThanOrEqual(1e-5);
      expect(row.outputs.delayed).toBe(want.delayed);
    });
    expect(await lines(`/v2/batches/${id}/errors`)).toEqual([]);
    const manifest = JSON.parse(await (await env.BATCH.get(`${job.output}manifest.json`))!.text());
    expect(manifest).toMatchObject({ model: 'flights-delay', model_version: '1', input, records: { ok: 2000, failed: 0 } });
    expect(manifest.parts).toHaveLength(job.chunks.total);
  });

  it('splits into many small chunks: records straddling boundaries land once, with their line numbers', async () => {
    const { input } = await upload('flights-delay', 'chunked.csv', sample);
    const created = await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 4096 } });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as Status;
    const job = await settle(id);
    expect(job.chunks.total).toBeGreaterThan(10);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0 } });
    const output = await lines(`/v2/batches/${id}/output`);
    expect(output.map((r) => r.line)).toEqual(reference.rows.map((r) => r.line));
    output.forEach((row, i) => expect(Math.abs(row.outputs.probability - reference.rows[i]!.probability)).toBeLessThanOrEqual(1e-5));
  });

  it('makes the job before the upload is answered: its URL never 404s, and a re-delivered notification makes no second job', async () => {
    const response = await call('/v2/batches/inbox/flights-delay/at-once.csv', { method: 'PUT', body: sample });
    const created = (await response.json()) as any;
    expect(response.status).toBe(202);
    expect(created).toMatchObject({ state: 'queued', url: `/v2/batches/${created.id}`, input: 'inbox/alice/flights-delay/at-once.csv' });
    expect((await call(created.url)).status).toBe(200);
    const job = await settle(created.id);
    const notification = { account: 'local', action: 'PutObject', bucket: 'edge-inference-batch', object: { key: created.input }, eventTime: new Date().toISOString() };
    await env.BATCH_EVENTS.send(notification);
    await new Promise((r) => setTimeout(r, 500));
    const listed = ((await (await call('/v2/batches')).json()) as { jobs: Status[] }).jobs.filter((j: any) => j.input === created.input);
    expect(listed.map((j) => j.id)).toEqual([created.id]);
    expect((await status(created.id)).records).toEqual(job.records);
  });

  it('reports records done, the total once counted, rows/s, ETA and chunk states', async () => {
    const { input } = await upload('flights-delay', 'progress.csv', sample);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 4096 } })).json()) as any;
    expect(created.state).toBe('queued');
    expect(created.records).toEqual({ ok: 0, failed: 0, done: 0 });
    expect(created.chunks.states).toEqual({ counting: created.chunks.total, scoring: 0, done: 0, retrying: 0 });
    expect(created.rows_per_second).toBe(0);
    const seen: any[] = [];
    for (let job: any = created; !['succeeded', 'failed'].includes(job.state); await new Promise((r) => setTimeout(r, 20))) {
      job = await status(created.id);
      seen.push(job);
    }
    for (const job of seen) {
      const { counting, scoring, done, retrying } = job.chunks.states;
      expect(counting + scoring + done).toBe(job.chunks.total);
      expect(retrying).toBe(0);
      expect(job.records.done).toBe(job.records.ok + job.records.failed);
      // Once every chunk is counted the total is the CSV's 2,000 records, and a running job has an ETA.
      if (job.records.total !== undefined) expect(job.records.total).toBe(2000);
      if (job.state === 'running' && job.records.total !== undefined && job.rows_per_second > 0) expect(job.eta_seconds).toBeGreaterThanOrEqual(0);
    }
    const last = seen.at(-1);
    expect(last).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0, done: 2000, total: 2000 } });
    expect(last.chunks.states).toEqual({ counting: 0, scoring: 0, done: last.chunks.total, retrying: 0 });
    expect(last.rows_per_second).toBeGreaterThan(0);
    expect(last).not.toHaveProperty('eta_seconds');
  });

  it('streams /output and /errors of a many-chunk job whose parts are empty, missing or large', async () => {
    // Ten bad rows spread over a file cut into 4 KiB chunks: most chunks' error parts are empty.
    const rows = sample.trimEnd().split('\n');
    const bad = [101, 402, 703, 904, 1105, 1306, 1507, 1708, 1909, 1999];
    for (const line of bad) rows[line - 1] = rows[line - 1]!.split(',').map((v, i) => (i === 5 ? 'abc' : v)).join(',');
    const { input } = await upload('flights-delay', 'sparse-errors.csv', rows.join('\n') + '\n');
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 4096 } })).json()) as Status;
    const job = await settle(created.id);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 1990, failed: 10 } });
    expect((await lines(`/v2/batches/${job.id}/errors`)).map((e) => e.line)).toEqual(bad);
    expect(await lines(`/v2/batches/${job.id}/output`)).toHaveLength(1990);
    // A part that is gone (removed by hand or lifecycle rules) is skipped, never a hung response.
    await env.BATCH.delete(`${job.output}errors-00001.jsonl`);
    await env.BATCH.delete(`${job.output}part-00002.jsonl`);
    expect((await lines(`/v2/batches/${job.id}/errors`)).length).toBeGreaterThanOrEqual(9);
    expect((await lines(`/v2/batches/${job.id}/output`)).length).toBeLessThan(1990);
  });

  it('makes a line that is not UTF-8 its record\'s error, and fails a job with an over-long line at once', async () => {
    const [header, ...rows] = sample.trimEnd().split('\n');
    const text = new TextEncoder();
    const bad = Uint8Array.of(...text.encode('9999,23,6,LAS,'), 0xff, 0xfe, ...text.encode('X,2176,33\n'));
    const body = new Uint8Array([...text.encode(`${header}\n${rows.slice(0, 3).join('\n')}\n`), ...bad, ...text.encode(`${rows.slice(3, 6).join('\n')}\n`)]);
    const { id } = await upload('flights-delay', 'latin1.csv', body);
    const job = await settle(id);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 6, failed: 1 } });
    expect(await lines(`/v2/batches/${id}/errors`)).toEqual([{ line: 5, code: 'invalid_utf8', message: 'the line is not valid UTF-8 text' }]);

    const long = `${header}\n${rows[0]}\n${'9,'.repeat(600_000)}\n${rows[1]}\n`;
    const { input } = await upload('flights-delay', 'long-line.csv', long);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 1024 } })).json()) as Status;
    const failed = await settle(created.id);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/longer than 1048576 bytes/);
  });

  it('ends with every row exactly once when chunk deliveries fail at random', async () => {
    const { input } = await upload('flights-delay', 'chaos.csv', sample);
    const options = { chunk_bytes: 2048, fault_rate: 0.5 };
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options })).json()) as Status;
    const job = await settle(created.id, 60_000);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0 } });
    expect(job.chunks.total).toBeGreaterThan(20);
    const output = await lines(`/v2/batches/${job.id}/output`);
    expect(output.map((r) => r.line)).toEqual(reference.rows.map((r) => r.line));
    output.forEach((row, i) => expect(Math.abs(row.outputs.probability - reference.rows[i]!.probability)).toBeLessThanOrEqual(1e-5));
    // The manifest, written once when the last chunk lands, agrees.
    const manifest = JSON.parse(await (await env.BATCH.get(`${job.output}manifest.json`))!.text());
    expect(manifest.records).toEqual({ ok: 2000, failed: 0 });
  });

  it('puts malformed rows in the errors file and still succeeds', async () => {
    const { id } = await upload('flights-delay', 'awkward.csv', awkward);
    const job = await settle(id);
    expect(job.state).toBe('succeeded');
    const output = await lines(`/v2/batches/${id}/output`);
    expect(output.map((r) => r.line)).toEqual(expectedAwkward.rows.map((r) => r.line));
    output.forEach((row, i) => expect(Math.abs(row.outputs.probability - expectedAwkward.rows[i]!.probability)).toBeLessThanOrEqual(1e-5));
    const errors = await lines(`/v2/batches/${id}/errors`);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [6, 'column_count'],
      [7, 'invalid_value'],
    ]);
    expect(errors[1].message).toMatch(/distance.*abc/);
    expect(job.records).toEqual({ ok: output.length, failed: 2, done: output.length + 2, total: output.length + 2 });
  });

  it('stages a gzip input larger than one multipart part byte for byte', async () => {
    // 20 MiB of text: two full 8 MiB parts and a short last one.
    const line = new TextEncoder().encode('12,3,LAS,PHL,2176,33,a-row-of-csv-text-that-repeats\n');
    const plain = new Uint8Array(20 * 1024 * 1024);
    for (let at = 0; at < plain.length; at += line.length) plain.set(line.subarray(0, Math.min(line.length, plain.length - at)), at);
    const gz = await new Response(new Blob([plain]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    await env.BATCH.put('inbox/alice/staging/big.csv.gz', gz);
    const size = await stageGzip(env.BATCH, 'inbox/alice/staging/big.csv.gz', 'results/alice/staging/input.csv', 64 * 1024 * 1024);
    expect(size).toBe(plain.length);
    const staged = new Uint8Array(await (await env.BATCH.get('results/alice/staging/input.csv'))!.arrayBuffer());
    expect(staged.length).toBe(plain.length);
    expect(staged.every((b, i) => b === plain[i])).toBe(true);
    await expect(stageGzip(env.BATCH, 'inbox/alice/staging/big.csv.gz', 'results/alice/staging/small.csv', 1024 * 1024)).rejects.toThrow(/exceeds 1048576 bytes/);
  });

  it('reads gzip and JSON Lines (named inputs and whole protocol requests)', async () => {
    const gz = await new Response(new Blob([sample]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    const zipped = await settle((await upload('flights-delay', 'sample.csv.gz', gz)).id);
    expect(zipped).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0 } });
    // Decompressed once into a copy, a gzip input is cut into chunks like any other: no chunk does it all.
    const input = 'inbox/alice/flights-delay/sample.csv.gz';
    const split = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 4096 } })).json()) as Status;
    const splitJob = await settle(split.id);
    expect(splitJob).toMatchObject({ state: 'succeeded', records: { ok: 2000, failed: 0 } });
    expect(splitJob.chunks.total).toBeGreaterThan(10);
    const splitOutput = await lines(`/v2/batches/${split.id}/output`);
    expect(splitOutput.map((r) => r.line)).toEqual(reference.rows.map((r) => r.line));
    splitOutput.forEach((row, i) => expect(Math.abs(row.outputs.probability - reference.rows[i]!.probability)).toBeLessThanOrEqual(1e-5));

    const rows = irisReference.iris.inputs.slice(0, 3);
    const jsonl = [
      JSON.stringify({ id: 'a', input: rows[0] }),
      '',
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: rows[1] }] }),
      '{not json',
      JSON.stringify({ id: 'c', input: rows[2] }),
    ].join('\n');
    const job = await settle((await upload('iris', 'rows.jsonl', jsonl)).id);
    expect(job).toMatchObject({ state: 'succeeded', records: { ok: 3, failed: 1 } });
    const output = await lines(`/v2/batches/${job.id}/output`);
    expect(output.map((r) => r.line)).toEqual([1, 3, 5]);
    expect(output[0].id).toBe('a');
    expect(output[0].outputs.label).toBe(irisReference.iris.label[0]);
    expect(output[1].response.outputs[1].data).toEqual([irisReference.iris.label[1]]);
    expect((await lines(`/v2/batches/${job.id}/errors`))[0]).toMatchObject({ line: 4, code: 'json_syntax' });
  });

  it('finishes an empty file at once, and fails an input that is not CSV at all with the reason', async () => {
    expect(await settle((await upload('flights-delay', 'empty.csv', '')).id)).toMatchObject({ state: 'succeeded', records: { ok: 0, failed: 0 } });
    const binary = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    const job = await settle((await upload('flights-delay', 'binary.csv', binary)).id);
    expect(job.state).toBe('failed');
    expect(job.reason).toMatch(/not UTF-8 text|binary/);
    const headerless = await settle((await upload('flights-delay', 'other.csv', 'a,b\n1,2\n')).id);
    expect(headerless.reason).toMatch(/names none of the model's features.*missing: hour, weekday, origin, destination, distance/);
    // A missing feature column is every record's error, and the job still succeeds.
    const partial = await settle((await upload('flights-delay', 'partial.csv', 'id,hour,weekday,origin,destination\n1,8,2,SFO,LAX\n2,9,3,ORD,JFK\n')).id);
    expect(partial).toMatchObject({ state: 'succeeded', records: { ok: 0, failed: 2 } });
    expect(await lines(`/v2/batches/${partial.id}/errors`)).toEqual([
      { line: 2, id: '1', code: 'missing_feature', message: "'distance' is missing" },
      { line: 3, id: '2', code: 'missing_feature', message: "'distance' is missing" },
    ]);
  });
});

describe('delivery and failure', () => {
  it('never duplicates rows when a chunk is delivered again', async () => {
    const { id } = await upload('flights-delay', 'again.csv', sample);
    const job = await settle(id);
    const ctx = createExecutionContext();
    const batch = createMessageBatch('edge-inference-batch-chunks', [
      { id: 'again', timestamp: new Date(), attempts: 1, body: { job: `alice/${id}`, chunk: 0, phase: 'score' } },
    ]);
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['again']);
    expect(await status(id)).toMatchObject({ state: 'succeeded', records: job.records });
    expect(await lines(`/v2/batches/${id}/output`)).toHaveLength(2000);
  });

  it('retries a chunk that throws, then dead-letters it and fails the job with the reason', async () => {
    // A job planned over an input that is gone by the time its chunk runs: every attempt throws.
    const id = 'f'.repeat(32);
    const job = env.JOBS.get(env.JOBS.idFromName(`alice/${id}`));
    const spec = { id, consumer: 'alice', model: 'flights-delay', version: '1', inputKey: 'inbox/alice/flights-delay/gone.csv', size: 100, format: 'csv' as const, gzip: false, header: reference.columns, chunkBytes: 4096 };
    await job.create(spec);
    const failed = await settle(id);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/chunk 0 failed after all retries: .*gone/);

    // A chunk of a job that is over does no work and is simply acknowledged.
    const ctx = createExecutionContext();
    const batch = createMessageBatch('edge-inference-batch-chunks', [
      { id: 'late', timestamp: new Date(), attempts: 1, body: { job: `alice/${id}`, chunk: 0, phase: 'score' } },
    ]);
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(['late']);
  });

  it('cancels a job: remaining chunks do no work', async () => {
    const { input } = await upload('flights-delay', 'cancel.csv', sample);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 1024 } })).json()) as Status;
    const cancelled = await postJson(`/v2/batches/${created.id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as Status).state).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await status(created.id);
    expect(after.state).toBe('cancelled');
    expect(after.chunks.done).toBeLessThan(after.chunks.total);
    await expectError(await postJson(`/v2/batches/${created.id}/cancel`, {}), 409, /already cancelled/);
    // What was scored before the cancel stays readable, marked partial, and agrees with the counts and the manifest.
    const output = await call(`/v2/batches/${created.id}/output`);
    expect(output.status).toBe(200);
    expect(output.headers.get('X-Partial')).toBe('true');
    expect(output.headers.get('X-Job-State')).toBe('cancelled');
    const rows = (await output.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(rows).toHaveLength(after.records.ok);
    const manifest = JSON.parse(await (await env.BATCH.get(`${after.output}manifest.json`))!.text());
    expect(manifest).toMatchObject({ state: 'cancelled', partial: true, records: { ok: after.records.ok, failed: after.records.failed }, chunks: { done: after.chunks.done, total: after.chunks.total } });
    expect(manifest.parts).toHaveLength(after.chunks.done);
  });

  it('answers 409 for the results of a job still running, and 200 without X-Partial once it succeeded', async () => {
    const { input } = await upload('flights-delay', 'not-yet.csv', sample);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { chunk_bytes: 1024 } })).json()) as Status;
    await expectError(await call(`/v2/batches/${created.id}/output`), 409, /queued|running/);
    await settle(created.id);
    const output = await call(`/v2/batches/${created.id}/output`);
    expect(output.headers.get('X-Partial')).toBe('false');
    expect((await output.text()).split('\n').filter(Boolean)).toHaveLength(2000);
  });

  it('lists jobs newest first, a page at a time', async () => {
    const ids: string[] = [];
    for (const name of ['page-a.csv', 'page-b.csv', 'page-c.csv']) {
      ids.push((await upload('flights-delay', name, sample.split('\n').slice(0, 20).join('\n'), 'bob')).id);
      await new Promise((r) => setTimeout(r, 5)); // distinct creation times
    }
    const first = (await (await call('/v2/batches?limit=2', { as: 'bob' })).json()) as { jobs: Status[]; cursor?: string };
    expect(first.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(first.cursor).toBeTruthy();
    const second = (await (await call(`/v2/batches?limit=2&cursor=${encodeURIComponent(first.cursor!)}`, { as: 'bob' })).json()) as { jobs: Status[]; cursor?: string };
    expect(second.jobs.map((j) => j.id)[0]).toBe(ids[0]);
    await expectError(await call('/v2/batches?limit=0', { as: 'bob' }), 400, /query: limit/);
  });
});

describe('per-job options', () => {
  const irisCsv = () => {
    const names = ['setosa', 'versicolor', 'virginica'];
    const rows = irisReference.iris.inputs.map((x, i) => `f${i},${x.join(',')},${names[irisReference.iris.labels[i]!]}`);
    return `flower,sepal_length,sepal_width,petal_length,petal_width,species\n${rows.join('\n')}\n`;
  };

  it('writes CSV with the id column, carried columns and top-1 labels, as the classification extension answers online', async () => {
    const query = 'output_format=csv&id_column=flower&carry=species,sepal_length&classification=1';
    const response = await call(`/v2/batches/inbox/iris/options.csv?${query}`, { method: 'PUT', body: irisCsv() });
    const created = (await response.json()) as any;
    expect(response.status).toBe(202);
    expect(created.options).toEqual({ id_column: 'flower', carry: ['species', 'sepal_length'], output_format: 'csv', classification: 1 });
    expect((await settle(created.id)).state).toBe('succeeded');
    const output = await call(`/v2/batches/${created.id}/output`);
    expect(output.headers.get('Content-Type')).toMatch(/text\/csv/);
    const [header, ...rows] = (await output.text()).trimEnd().split('\n');
    expect(header).toBe('line,id,species,sepal_length,probabilities,label');
    expect(rows).toHaveLength(150);
    const online = (await (await postJson('/v2/models/iris/infer', {
      inputs: [{ name: 'input', shape: [150, 4], datatype: 'FP32', data: irisReference.iris.inputs }],
      outputs: [{ name: 'probabilities', parameters: { classification: 1 } }],
    })).json()) as any;
    rows.forEach((row, i) => {
      const [line, id, species, sepal, top, label] = row.split(',');
      expect([line, id, species, sepal]).toEqual([String(i + 2), `f${i}`, irisCsv().split('\n')[i + 1]!.split(',')[5], String(irisReference.iris.inputs[i]![0])]);
      expect(top).toBe(online.outputs[0].data[i]);
      expect(Number(label)).toBe(irisReference.iris.label?.[i] ?? Number(top!.split(':')[1]));
    });
  });

  it('carries columns into JSON Lines results', async () => {
    const { input } = await upload('flights-delay', 'carry.csv', sample);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: input, options: { carry: ['origin', 'destination'] } })).json()) as Status;
    await settle(created.id);
    const [first] = await lines(`/v2/batches/${created.id}/output`);
    expect(first).toMatchObject({ line: 2, id: '1', input: { origin: 'LAS', destination: 'PHL' } });
    expect(first.outputs.probability).toBeCloseTo(reference.rows[0]!.probability, 5);
  });

  it('re-runs an identical upload only when asked: a repeated upload finds its job, ?rerun=true makes a new one', async () => {
    const first = await upload('flights-delay', 'again.csv', sample);
    const same = await upload('flights-delay', 'again.csv', sample);
    expect(same.id).toBe(first.id);
    const rerun = (await (await call('/v2/batches/inbox/flights-delay/again.csv?rerun=true', { method: 'PUT', body: sample })).json()) as Status;
    expect(rerun.id).not.toBe(first.id);
    expect((await settle(rerun.id)).records).toMatchObject({ ok: 2000 });
  });

  it('refuses options that cannot apply, naming them', async () => {
    await expectError(await call('/v2/batches/inbox/iris/bad.csv?classification=0', { method: 'PUT', body: irisCsv() }), 400, /query: classification/);
    await expectError(await call('/v2/batches/inbox/iris/bad.csv?output_format=xml', { method: 'PUT', body: irisCsv() }), 400, /query: output_format/);
    const { input } = await upload('iris', 'missing-carry.csv', irisCsv());
    const noColumn = (await (await postJson('/v2/batches', { model: 'iris', input_key: input, options: { carry: ['colour'] } })).json()) as Status;
    expect(await settle(noColumn.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/options.carry: 'colour' not in the CSV header/) });
    const flights = await upload('flights-delay', 'no-labels.csv', sample);
    const noLabels = (await (await postJson('/v2/batches', { model: 'flights-delay', input_key: flights.input, options: { classification: 1 } })).json()) as Status;
    expect(await settle(noLabels.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/options.classification: model 'flights-delay' declares no labels/) });
  });
});

describe('jobs over a prefix', () => {
  it('scores every file under a prefix as one job, each line naming its file and its line in it', async () => {
    const [header, ...rows] = sample.trimEnd().split('\n');
    const parts = [rows.slice(0, 700), rows.slice(700, 1400), rows.slice(1400)];
    const prefix = 'inbox/alice/flights-delay/days/';
    for (const [i, part] of parts.entries()) await env.BATCH.put(`${prefix}day-${i + 1}.csv`, `${header}\n${part.join('\n')}\n`);
    const created = (await (await postJson('/v2/batches', { model: 'flights-delay', input_prefix: prefix, options: { chunk_bytes: 4096 } })).json()) as any;
    expect(created).toMatchObject({ state: 'queued', input: prefix, files: 3 });
    const job = (await settle(created.id)) as any;
    expect(job).toMatchObject({ state: 'succeeded', files: 3, records: { ok: 2000, failed: 0, total: 2000 } });
    expect(job.chunks.total).toBeGreaterThan(6);
    const output = await lines(`/v2/batches/${created.id}/output`);
    expect(output.map((r) => r.file)).toEqual(parts.flatMap((part, i) => part.map(() => `${prefix}day-${i + 1}.csv`)));
    expect(output.map((r) => r.line)).toEqual(parts.flatMap((part) => part.map((_, j) => j + 2)));
    output.forEach((row, i) => expect(Math.abs(row.outputs.probability - reference.rows[i]!.probability)).toBeLessThanOrEqual(1e-5));
    const manifest = JSON.parse(await (await env.BATCH.get(`${job.output}manifest.json`))!.text());
    expect(manifest.files).toEqual([1, 2, 3].map((i) => `${prefix}day-${i}.csv`));
  });

  it('refuses a prefix without files or without a trailing slash, and fails one holding a .gz file with the reason', async () => {
    await expectError(await postJson('/v2/batches', { model: 'flights-delay', input_prefix: 'inbox/alice/flights-delay/none/' }), 400, /no files under/);
    await expectError(await postJson('/v2/batches', { model: 'flights-delay', input_prefix: 'inbox/alice/flights-delay/days' }), 400, /must end with '\/'/);
    await expectError(await postJson('/v2/batches', { model: 'flights-delay', input_key: 'inbox/alice/x.csv', input_prefix: 'inbox/alice/' }), 400, /exactly one of input_key and input_prefix/);
    await expectError(await postJson('/v2/batches', { model: 'flights-delay', input_prefix: 'inbox/bob/' }), 404, /does not exist/);
    await env.BATCH.put('inbox/alice/flights-delay/mixed/a.csv', sample);
    await env.BATCH.put('inbox/alice/flights-delay/mixed/b.csv.gz', new Uint8Array([31, 139, 8, 0]));
    const mixed = (await (await postJson('/v2/batches', { model: 'flights-delay', input_prefix: 'inbox/alice/flights-delay/mixed/' })).json()) as Status;
    expect(await settle(mixed.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/b\.csv\.gz': a job over a prefix reads plain CSV or JSON Lines/) });
  });
});

describe('ownership and bad requests', () => {
  it("keeps one consumer's jobs and inputs from another", async () => {
    const { id, input } = await upload('flights-delay', 'private.csv', sample);
    await settle(id);
    await expectError(await call(`/v2/batches/${id}`, { as: 'bob' }), 404, /not found/);
    await expectError(await call(`/v2/batches/${id}/output`, { as: 'bob' }), 404, /not found/);
    await expectError(await postJson(`/v2/batches/${id}/cancel`, {}, 'bob'), 404, /not found/);
    await expectError(await postJson('/v2/batches', { model: 'flights-delay', input_key: input }, 'bob'), 404, /does not exist/);
    const bobs = (await (await call('/v2/batches', { as: 'bob' })).json()) as { jobs: Status[] };
    expect(bobs.jobs.map((j) => j.id)).not.toContain(id);
    const alices = (await (await call('/v2/batches')).json()) as { jobs: Status[] };
    expect(alices.jobs.map((j) => j.id)).toContain(id);
  });

  it('ignores notifications that are not object creation under the inbox', async () => {
    const ctx = createExecutionContext();
    const body = (action: string, key: string) => ({ account: 'a', action, bucket: 'b', object: { key, size: 1, eTag: 'e' }, eventTime: new Date().toISOString() });
    const batch = createMessageBatch<unknown>('edge-inference-batch-events', [
      { id: '1', timestamp: new Date(), attempts: 1, body: body('DeleteObject', 'inbox/alice/iris/x.csv') },
      { id: '2', timestamp: new Date(), attempts: 1, body: body('PutObject', 'elsewhere/x.csv') },
      { id: '3', timestamp: new Date(), attempts: 1, body: { not: 'a notification' } },
    ]);
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(['1', '2', '3']);
  });

  it('answers clear 4xx errors', async () => {
    await expectError(await call('/v2/batches/nope'), 404, /not found/);
    await expectError(await call(`/v2/batches/${'0'.repeat(32)}`), 404, /not found/);
    await expectError(await postJson('/v2/batches', { model: 'iris' }), 400, /input_key/);
    await expectError(await postJson('/v2/batches', { model: 'iris', input_key: 'inbox/alice/iris/none.csv' }), 400, /does not exist/);
    await expectError(await call('/v2/batches/inbox/iris/bad%20name.csv', { method: 'PUT', body: 'x' }), 400, /file name/);
    await expectError(await call('/v2/batches/inbox/iris/x.csv', { method: 'PUT', body: 'x', headers: { 'Content-Length': '2000000000' } }), 413, /exceeds the limit/);
  });
});
