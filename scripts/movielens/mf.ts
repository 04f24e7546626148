// The recommender served before: biased matrix factorisation fitted to rating values by alternating
// least squares, a new user folded in by one ridge solve. Kept as a baseline of the evaluation.
import { seededRandom } from '../train.ts';
import type { Movielens } from './data.ts';

/** Solves A x = b (A n×n row-major) by Gaussian elimination with partial pivoting; A and b are overwritten. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]!) > Math.abs(A[p * n + c]!)) p = r;
    if (p !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[p * n + j]] = [A[p * n + j]!, A[c * n + j]!];
      [b[c], b[p]] = [b[p]!, b[c]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c]! / A[c * n + c]!;
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[r * n + j]! -= f * A[c * n + j]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let j = r + 1; j < n; j++) s -= A[r * n + j]! * x[j]!;
    x[r] = s / A[r * n + r]!;
  }
  return x;
}

/** x = argmin Σ (t_j - [o_j, 1]·x)² + λ|x|² over the other side's factors o_j (length d) and targets t_j. */
function ridge(others: Float64Array, d: number, rowsOf: ArrayLike<number>, targets: ArrayLike<number>, lambda: number): Float64Array {
  const D = d + 1;
  const A = new Float64Array(D * D);
  const b = new Float64Array(D);
  const x = new Float64Array(D);
  for (let j = 0; j < rowsOf.length; j++) {
    const o = rowsOf[j]! * D;
    for (let f = 0; f < d; f++) x[f] = others[o + f]!;
    x[d] = 1;
    const t = targets[j]!;
    for (let p = 0; p < D; p++) {
      b[p]! += x[p]! * t;
      for (let q = p; q < D; q++) A[p * D + q]! += x[p]! * x[q]!;
    }
  }
  for (let p = 0; p < D; p++) {
    A[p * D + p]! += lambda;
    for (let q = 0; q < p; q++) A[p * D + q] = A[q * D + p]!;
  }
  return solve(A, b, D);
}

/**
 * Both sides are augmented vectors of length d + 1: user [u, b_u], item [v, b_i], so
 * r̂ = μ + u·v + b_u + b_i and every ALS half-step is one ridge solve per row with λ on all d + 1.
 */
export interface Mf {
  d: number;
  lambda: number;
  mu: number;
  items: Float64Array; // [items, d + 1]
}

/** Biased MF by ALS on the ratings of `users`. Each iteration solves items, then users. */
export function trainMf(data: Movielens, byUser: Int32Array[], users: number[], opts: { d: number; lambda: number; iterations: number; seed: number }): Mf {
  const { d, lambda } = opts;
  const D = d + 1;
  const rand = seededRandom(opts.seed);
  const selected = users.flatMap((u) => Array.from(byUser[u]!));
  const mu = selected.reduce((s, n) => s + data.rating[n]!, 0) / selected.length;
  const userVectors = new Float64Array(data.users * D);
  const items = new Float64Array(data.movieIds.length * D);
  // Users start as small random factors (biases 0); items are solved from them first.
  for (let u = 0; u < data.users; u++) for (let f = 0; f < d; f++) userVectors[u * D + f] = (rand() - 0.5) * 0.2;
  const byItem: number[][] = Array.from({ length: data.movieIds.length }, () => []);
  for (const n of selected) byItem[data.item[n]!]!.push(n);
  const halfStep = (mine: Float64Array, others: Float64Array, rows: Iterable<[number, ArrayLike<number>]>, otherOf: Int32Array) => {
    for (const [r, ns] of rows) {
      const other = Array.from(ns, (n) => otherOf[n]!);
      const targets = Array.from(ns, (n, j) => data.rating[n]! - mu - others[other[j]! * D + d]!);
      mine.set(ridge(others, d, other, targets, lambda), r * D);
    }
  };
  for (let it = 0; it < opts.iterations; it++) {
    halfStep(items, userVectors, byItem.entries(), data.user);
    halfStep(userVectors, items, users.map((u) => [u, byUser[u]!] as [number, Int32Array]), data.item);
  }
  return { d, lambda, mu, items };
}

/** Scores of every item for a new user folded in from their ratings. */
export function mfScores(m: Mf, items: number[], ratings: number[]): Float64Array {
  const D = m.d + 1;
  const base = (i: number) => m.mu + m.items[i * D + m.d]!;
  const user = ridge(m.items, m.d, items, ratings.map((r, j) => r - base(items[j]!)), m.lambda);
  const scores = new Float64Array(m.items.length / D);
  for (let i = 0; i < scores.length; i++) {
    let s = base(i) + user[m.d]!;
    for (let f = 0; f < m.d; f++) s += m.items[i * D + f]! * user[f]!;
    scores[i] = s;
  }
  return scores;
}
