// Computes reference outputs of the built models with onnxruntime-node and writes
// test/fixtures/reference.json. Run directly or as the last step of build-models.ts.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const root = resolve(import.meta.dirname, '..');

/** JSON with one line per flat array: readable, and diffs stay row-sized. */
export function formatJson(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((e) => e === null || typeof e !== 'object')) return JSON.stringify(value);
    return `[\n${value.map((e) => inner + formatJson(e, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, e]) => `${inner}${JSON.stringify(k)}: ${formatJson(e, inner)}`);
    return entries.length ? `{\n${entries.join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(value);
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatJson(value) + '\n');
}

export interface ClassifierOutput {
  probabilities: number[][];
  label: number[];
}

/** Runs a classifier model (input `input`, outputs `probabilities` and `label`) on a batch of rows. */
export async function runClassifier(model: Uint8Array, rows: ArrayLike<number>[]): Promise<ClassifierOutput> {
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  const dim = rows[0]!.length;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  const out = await session.run({ input: new ort.Tensor('float32', data, [rows.length, dim]) });
  await session.release();
  const probs = out.probabilities!;
  const k = probs.dims[1]!;
  const p = probs.data as Float32Array;
  return {
    // Array.from on a Float32Array yields the exact float64 value of each float32.
    probabilities: rows.map((_, i) => Array.from(p.subarray(i * k, (i + 1) * k))),
    label: Array.from(out.label!.data as BigInt64Array, Number),
  };
}

export function readIrisCsv(): { inputs: number[][]; labels: number[]; species: string[] } {
  const lines = readFileSync(resolve(root, 'data/iris/iris.csv'), 'utf8').trim().split('\n').slice(1);
  const species: string[] = [];
  const inputs: number[][] = [];
  const labels: number[] = [];
  for (const line of lines) {
    const cells = line.split(',');
    const name = cells[4]!;
    if (!species.includes(name)) species.push(name);
    inputs.push(cells.slice(0, 4).map(Number));
    labels.push(species.indexOf(name));
  }
  return { inputs, labels, species };
}

export async function makeFixtures(): Promise<void> {
  const load = (rel: string) => readFileSync(resolve(root, rel));
  const iris = readIrisCsv();
  const irisOut = await runClassifier(load('models/iris/1/model.onnx'), iris.inputs);
  const v2Inputs = iris.inputs.slice(0, 5);
  const v2Out = await runClassifier(load('test/fixtures/models/iris-v2.onnx'), v2Inputs);
  const sample = JSON.parse(readFileSync(resolve(root, 'test/fixtures/fashion-mnist-sample.json'), 'utf8')) as {
    images: number[][];
    labels: number[];
  };
  const fashionOut = await runClassifier(load('models/fashion-mnist/1/model.onnx'), sample.images);

  writeJson(resolve(root, 'test/fixtures/reference.json'), {
    iris: { inputs: iris.inputs, labels: iris.labels, ...irisOut },
    iris_v2: { inputs: v2Inputs, probabilities: v2Out.probabilities, label: v2Out.label },
    fashion_mnist: { inputs: sample.images, labels: sample.labels, ...fashionOut },
  });
  console.log('wrote test/fixtures/reference.json');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await makeFixtures();
