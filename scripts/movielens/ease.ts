// EASE (Steck 2019) computed through the users' side, and its low-rank truncation that is served.
//
// EASE scores a user x as x·B with B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹. With far fewer
// users U than items, Woodbury gives P = (I − Xᵀ(XXᵀ + λI)⁻¹X)/λ; with XXᵀ = QΛQᵀ and
// W = XᵀQ·diag(1/√(λ + Λ)), an item j outside the context scores
//   s_j = (W·Wᵀx)_j · c_j,  c_j = 1 / (1 − |W_j|²)
// which is exact EASE when W keeps all U columns. Keeping the d columns of largest Λ is the served
// low-rank EASE; c_j is kept exact (one number per item).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Movielens } from './data.ts';

/** The user-side eigenbasis of one training set; λ and rank are chosen afterwards without redoing it. */
export interface EaseBasis {
  /** Z = XᵀQ, [items, U], columns by descending eigenvalue. */
  z: Float64Array;
  eigenvalues: Float64Array;
  users: number;
  items: number;
}

/** X: one row per training user, `value(rating)` at each item they rated. */
export function easeBasis(data: Movielens, byUser: Int32Array[], users: number[], value: (rating: number) => number): EaseBasis {
  const U = users.length;
  const N = data.movieIds.length;
  const rows = users.map((u) => Array.from(byUser[u]!, (n) => ({ item: data.item[n]!, value: value(data.rating[n]!) })));
  // Gram XXᵀ through each item's raters.
  const raters: { row: number; value: number }[][] = Array.from({ length: N }, () => []);
  rows.forEach((r, a) => r.forEach(({ item, value }) => raters[item]!.push({ row: a, value })));
  const gram = new Float64Array(U * U);
  for (const list of raters) for (const p of list) for (const q of list) gram[p.row * U + q.row]! += p.value * q.value;
  const eig = new EigenvalueDecomposition(new Matrix(Array.from({ length: U }, (_, a) => Array.from(gram.subarray(a * U, (a + 1) * U)))), { assumeSymmetric: true });
  const vectors = eig.eigenvectorMatrix.to2DArray();
  const order = eig.realEigenvalues.map((v, k) => [v, k] as const).sort((a, b) => b[0] - a[0]);
  const z = new Float64Array(N * U);
  rows.forEach((r, a) => {
    const q = order.map(([, k]) => vectors[a]![k]!);
    for (const { item, value } of r) for (let k = 0; k < U; k++) z[item * U + k]! += value * q[k]!;
  });
  return { z, eigenvalues: Float64Array.from(order, ([v]) => Math.max(v, 0)), users: U, items: N };
}

/** Item factors W [items, rank] and exact per-item scales c for one λ. */
export interface Ease {
  lambda: number;
  rank: number;
  factors: Float64Array;
  scales: Float64Array;
}

export function ease(basis: EaseBasis, lambda: number, rank: number): Ease {
  const { z, eigenvalues, users: U, items: N } = basis;
  const d = Math.min(rank, U);
  const weight = eigenvalues.map((v) => 1 / Math.sqrt(lambda + v));
  const factors = new Float64Array(N * d);
  const scales = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    let norm = 0;
    for (let k = 0; k < U; k++) {
      const w = z[j * U + k]! * weight[k]!;
      norm += w * w;
      if (k < d) factors[j * d + k] = w;
    }
    scales[j] = 1 / (1 - norm);
  }
  return { lambda, rank: d, factors, scales };
}

/** Divides each item's scale by its popularity^α: EASE favours popular items, most of all for short contexts. */
export function discounted(m: Ease, popularity: Float64Array, alpha: number): Ease {
  return { ...m, scales: m.scales.map((c, j) => c / Math.max(popularity[j]!, 1) ** alpha) };
}

/** Scores of every item for a user given as item indices with their weights in x. */
export function easeScores(m: { rank: number; factors: ArrayLike<number>; scales: ArrayLike<number> }, items: number[], weights: number[]): Float64Array {
  const d = m.rank;
  const user = new Float64Array(d);
  items.forEach((i, r) => {
    for (let k = 0; k < d; k++) user[k]! += weights[r]! * m.factors[i * d + k]!;
  });
  const scores = new Float64Array(m.scales.length);
  for (let j = 0; j < scores.length; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += m.factors[j * d + k]! * user[k]!;
    scores[j] = s * m.scales[j]!;
  }
  return scores;
}

/** Symmetric int8 per factor column: W ≈ q · scale[k]. */
export function quantize(m: Ease): { q: Int8Array; scale: Float32Array; dequantized: Float32Array } {
  const { rank: d, factors } = m;
  const N = factors.length / d;
  const scale = new Float32Array(d);
  for (let k = 0; k < d; k++) {
    let max = 0;
    for (let j = 0; j < N; j++) max = Math.max(max, Math.abs(factors[j * d + k]!));
    scale[k] = max / 127 || 1;
  }
  const q = new Int8Array(N * d);
  const dequantized = new Float32Array(N * d);
  for (let j = 0; j < N; j++) {
    for (let k = 0; k < d; k++) {
      q[j * d + k] = Math.round(factors[j * d + k]! / scale[k]!);
      dequantized[j * d + k] = Math.fround(q[j * d + k]! * scale[k]!);
    }
  }
  return { q, scale, dequantized };
}
