// Plain TypeScript training of small dense classifiers: seeded PRNG, MLP with softmax
// cross-entropy, minibatch Adam. Weights are row-major [in, out] so they drop straight
// into ONNX Gemm (transB = 0).

export type Rand = () => number;
export type Activation = 'relu' | 'tanh';

/** mulberry32: tiny, fast and identical on every run for a given seed. */
export function seededRandom(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: Rand): number {
  const u = 1 - rand(); // (0, 1]: keeps log finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function shuffle(a: Int32Array, rand: Rand): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

export interface Layer {
  inDim: number;
  outDim: number;
  W: Float32Array; // [inDim, outDim]
  b: Float32Array; // [outDim]
}

export interface Mlp {
  layers: Layer[];
  activation: Activation; // hidden layers only; the last layer feeds softmax
}

export function initMlp(sizes: number[], activation: Activation, rand: Rand): Mlp {
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inDim = sizes[l]!;
    const outDim = sizes[l + 1]!;
    const std = Math.sqrt((activation === 'relu' ? 2 : 1) / inDim); // He / Xavier
    const W = new Float32Array(inDim * outDim);
    for (let i = 0; i < W.length; i++) W[i] = gaussian(rand) * std;
    layers.push({ inDim, outDim, W, b: new Float32Array(outDim) });
  }
  return { layers, activation };
}

/** out[B, O] = act(inp[B, I] @ W + b); zero inputs are skipped (ReLU outputs and blank pixels are mostly zero). */
function dense(layer: Layer, inp: Float32Array, out: Float32Array, rows: number, activation: Activation | null): void {
  const { inDim: I, outDim: O, W, b } = layer;
  for (let r = 0; r < rows; r++) {
    const ro = r * O;
    out.set(b, ro);
    for (let i = 0; i < I; i++) {
      const x = inp[r * I + i]!;
      if (x === 0) continue;
      const wo = i * O;
      for (let o = 0; o < O; o++) out[ro + o]! += x * W[wo + o]!;
    }
    if (activation === 'relu') {
      for (let o = ro; o < ro + O; o++) if (out[o]! < 0) out[o] = 0;
    } else if (activation === 'tanh') {
      for (let o = ro; o < ro + O; o++) out[o] = Math.tanh(out[o]!);
    }
  }
}

function softmaxRows(z: Float32Array, rows: number, k: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, z[o + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += z[o + j] = Math.exp(z[o + j]! - max);
    for (let j = 0; j < k; j++) z[o + j]! /= sum;
  }
}

/** Activations of every layer for `rows` inputs; the last one holds softmax probabilities. */
function forward(mlp: Mlp, x: Float32Array, rows: number, acts: Float32Array[]): Float32Array {
  const L = mlp.layers.length;
  let inp = x;
  for (let l = 0; l < L; l++) {
    const out = acts[l]!;
    dense(mlp.layers[l]!, inp, out, rows, l + 1 < L ? mlp.activation : null);
    inp = out;
  }
  softmaxRows(inp, rows, mlp.layers[L - 1]!.outDim);
  return inp;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Multiplies the learning rate after every epoch. */
  lrDecay?: number;
  log?: (epoch: number, loss: number) => void;
}

/** Minibatch Adam on softmax cross-entropy. x is [n, inDim] row-major, y holds class indices. */
export function train(mlp: Mlp, x: Float32Array, y: ArrayLike<number>, opts: TrainOptions, rand: Rand): void {
  const { layers, activation } = mlp;
  const L = layers.length;
  const inDim = layers[0]!.inDim;
  const n = y.length;
  const B = opts.batchSize;
  const batchX = new Float32Array(B * inDim);
  const acts = layers.map((l) => new Float32Array(B * l.outDim));
  const deltas = layers.map((l) => new Float32Array(B * l.outDim));
  const grads = layers.map((l) => ({ W: new Float32Array(l.W.length), b: new Float32Array(l.b.length) }));
  const moments = layers.map((l) => ({
    mW: new Float32Array(l.W.length), vW: new Float32Array(l.W.length),
    mb: new Float32Array(l.b.length), vb: new Float32Array(l.b.length),
  }));
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const order = new Int32Array(n).map((_, i) => i);
  let lr = opts.lr;
  let step = 0;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffle(order, rand);
    let lossSum = 0;
    for (let start = 0; start < n; start += B) {
      const rows = Math.min(B, n - start);
      for (let r = 0; r < rows; r++) batchX.set(x.subarray(order[start + r]! * inDim, (order[start + r]! + 1) * inDim), r * inDim);
      const probs = forward(mlp, batchX, rows, acts);

      // d(mean loss)/d(logits) = (p - onehot) / rows
      const K = layers[L - 1]!.outDim;
      const top = deltas[L - 1]!;
      for (let r = 0; r < rows; r++) {
        const label = y[order[start + r]!]!;
        lossSum -= Math.log(Math.max(probs[r * K + label]!, 1e-12));
        for (let k = 0; k < K; k++) top[r * K + k] = (probs[r * K + k]! - (k === label ? 1 : 0)) / rows;
      }

      for (let l = L - 1; l >= 0; l--) {
        const { inDim: I, outDim: O, W } = layers[l]!;
        const inp = l === 0 ? batchX : acts[l - 1]!;
        const d = deltas[l]!;
        const g = grads[l]!;
        g.W.fill(0);
        g.b.fill(0);
        for (let r = 0; r < rows; r++) {
          const ro = r * O;
          for (let o = 0; o < O; o++) g.b[o]! += d[ro + o]!;
          for (let i = 0; i < I; i++) {
            const xv = inp[r * I + i]!;
            if (xv === 0) continue;
            const wo = i * O;
            for (let o = 0; o < O; o++) g.W[wo + o]! += xv * d[ro + o]!;
          }
        }
        if (l === 0) continue;
        // Back-propagate through W and the previous layer's activation.
        const prev = deltas[l - 1]!;
        for (let r = 0; r < rows; r++) {
          const ro = r * O;
          for (let i = 0; i < I; i++) {
            const a = inp[r * I + i]!;
            const deriv = activation === 'relu' ? (a > 0 ? 1 : 0) : 1 - a * a;
            if (deriv === 0) {
              prev[r * I + i] = 0;
              continue;
            }
            const wo = i * O;
            let s = 0;
            for (let o = 0; o < O; o++) s += d[ro + o]! * W[wo + o]!;
            prev[r * I + i] = s * deriv;
          }
        }
      }

      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      const stepSize = (lr * Math.sqrt(c2)) / c1;
      for (let l = 0; l < L; l++) {
        adam(layers[l]!.W, grads[l]!.W, moments[l]!.mW, moments[l]!.vW, stepSize, beta1, beta2, eps * Math.sqrt(c2));
        adam(layers[l]!.b, grads[l]!.b, moments[l]!.mb, moments[l]!.vb, stepSize, beta1, beta2, eps * Math.sqrt(c2));
      }
    }
    opts.log?.(epoch + 1, lossSum / n);
    lr *= opts.lrDecay ?? 1;
  }
}

// Bias correction folded into stepSize and eps (the usual efficient form of Adam).
function adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, stepSize: number, b1: number, b2: number, eps: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!;
    const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
    const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
    w[i]! -= (stepSize * mi) / (Math.sqrt(vi) + eps);
  }
}

/** Class index with the highest probability for each of n rows of x. */
export function predict(mlp: Mlp, x: Float32Array, n: number): Int32Array {
  const chunk = 256;
  const acts = mlp.layers.map((l) => new Float32Array(chunk * l.outDim));
  const K = mlp.layers[mlp.layers.length - 1]!.outDim;
  const inDim = mlp.layers[0]!.inDim;
  const labels = new Int32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const probs = forward(mlp, x.subarray(start * inDim, (start + rows) * inDim), rows, acts);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (probs[r * K + k]! > probs[r * K + best]!) best = k;
      labels[start + r] = best;
    }
  }
  return labels;
}
