// MovieLens "latest-small" recommender: biased matrix factorisation trained by alternating
// least squares, evaluated on a seeded 10% hold-out, plus the plain TypeScript reference for
// serving (fold-in of a new user by dense Gaussian elimination, scoring, masking, sorting).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { writeJson } from './make-fixtures.ts';
import { recommenderModel } from './recommender-graph.ts';
import { seededRandom, type Rand } from './train.ts';

const root = resolve(import.meta.dirname, '..');
export const DATA_DIR = 'data/movielens-small';

export interface Movielens {
  /** movieIds in ascending order; item index i is movieIds[i]. */
  movieIds: number[];
  titles: string[];
  user: Int32Array; // per rating: user index
  item: Int32Array; // per rating: item index
  rating: Float64Array;
  users: number;
  /** userId of each user index. */
  userIds: number[];
}

/** One CSV line; fields may be quoted with "" as an escaped quote. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        s += line.slice(i, q);
        i = q + 1;
        if (line[i] !== '"') break;
        s += '"';
        i++;
      }
      out.push(s);
      i++; // the comma
    } else {
      const c = line.indexOf(',', i);
      const end = c < 0 ? line.length : c;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

function csvRows(file: string): string[][] {
  const lines = readFileSync(resolve(root, DATA_DIR, file), 'utf8').trimEnd().split('\n');
  return lines.slice(1).map(csvFields);
}

export function loadMovielens(): Movielens {
  const movies = csvRows('movies.csv')
    .map(([id, title, year]) => ({ id: Number(id), title: title!, year: year! }))
    .sort((a, b) => a.id - b.id);
  const index = new Map(movies.map((m, i) => [m.id, i]));
  const rows = csvRows('ratings.csv');
  const userIndex = new Map<number, number>();
  const data = {
    user: new Int32Array(rows.length),
    item: new Int32Array(rows.length),
    rating: new Float64Array(rows.length),
  };
  rows.forEach(([userId, movieId, rating], n) => {
    const u = Number(userId);
    if (!userIndex.has(u)) userIndex.set(u, userIndex.size);
    const i = index.get(Number(movieId));
    if (i === undefined) throw new Error(`ratings.csv: unknown movieId ${movieId}`);
    data.user[n] = userIndex.get(u)!;
    data.item[n] = i;
    data.rating[n] = Number(rating);
  });
  return {
    movieIds: movies.map((m) => m.id),
    // A few rows have no title in the data ("NA"); name them by id rather than serve "NA".
    titles: movies.map((m) => (m.title === 'NA' ? `movie ${m.id}` : `${m.title} (${m.year})`)),
    ...data,
    users: userIndex.size,
    userIds: [...userIndex.keys()],
  };
}

/** Indices 0..n-1 split into a seeded random `fraction` (held out) and the rest. */
export function split(n: number, fraction: number, rand: Rand): { train: Int32Array; test: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const held = Math.round(n * fraction);
  return { test: order.slice(0, held).sort(), train: order.slice(held).sort() };
}

/** Solves A x = b (A n×n row-major) by Gaussian elimination with partial pivoting; A and b are overwritten. */
export function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
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

/**
 * Both sides of the model are "augmented" vectors of length d + 1: user [u, b_u], item [v, b_i].
 * r̂ = μ + u·v + b_u + b_i, i.e. each side sees the other as [other factors, 1] and its own bias as
 * a shift of the target; every ALS half-step is then one ridge solve per row with λ on all d + 1.
 */
export interface Mf {
  d: number;
  lambda: number;
  mu: number;
  users: Float64Array; // [users, d + 1]
  items: Float64Array; // [items, d + 1]
}

const predictOne = (m: Mf, u: number, i: number) => {
  const D = m.d + 1;
  let s = m.mu + m.users[u * D + m.d]! + m.items[i * D + m.d]!;
  for (let f = 0; f < m.d; f++) s += m.users[u * D + f]! * m.items[i * D + f]!;
  return s;
};

/** Ratings of each row (user or item), grouped: CSR over the selected ratings. */
function group(rowOf: Int32Array, rows: number, selected: Int32Array) {
  const start = new Int32Array(rows + 1);
  for (const n of selected) start[rowOf[n]! + 1]!++;
  for (let r = 0; r < rows; r++) start[r + 1]! += start[r]!;
  const fill = start.slice(0, rows);
  const entries = new Int32Array(selected.length);
  for (const n of selected) entries[fill[rowOf[n]!]!++] = n;
  return { start, entries };
}

/**
 * The ridge solve shared by training and serving: x = argmin Σ (t_j - [o_j, 1]·x)² + λ|x|²
 * over the other side's factors o_j (length d) and targets t_j.
 */
export function ridge(others: Float64Array, d: number, rowsOf: ArrayLike<number>, targets: ArrayLike<number>, lambda: number): Float64Array {
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

export interface AlsOptions {
  d: number;
  lambda: number;
  iterations: number;
  seed: number;
}

/** Biased MF by ALS on the `selected` ratings. Each iteration solves items, then users. */
export function trainMf(data: Movielens, selected: Int32Array, opts: AlsOptions): Mf {
  const { d, lambda } = opts;
  const D = d + 1;
  const rand = seededRandom(opts.seed);
  let mu = 0;
  for (const n of selected) mu += data.rating[n]!;
  mu /= selected.length;
  const m: Mf = { d, lambda, mu, users: new Float64Array(data.users * D), items: new Float64Array(data.movieIds.length * D) };
  // Users start as small random factors (biases 0); items are solved from them first.
  for (let u = 0; u < data.users; u++) for (let f = 0; f < d; f++) m.users[u * D + f] = (rand() - 0.5) * 0.2;
  const byUser = group(data.user, data.users, selected);
  const byItem = group(data.item, data.movieIds.length, selected);

  const halfStep = (mine: Float64Array, others: Float64Array, g: ReturnType<typeof group>, otherOf: Int32Array) => {
    for (let r = 0; r + 1 < g.start.length; r++) {
      const ns = g.entries.subarray(g.start[r]!, g.start[r + 1]!);
      const rows = Array.from(ns, (n) => otherOf[n]!);
      const targets = Array.from(ns, (n, j) => data.rating[n]! - mu - others[rows[j]! * D + d]!);
      mine.set(ridge(others, d, rows, targets, lambda), r * D);
    }
  };
  for (let it = 0; it < opts.iterations; it++) {
    halfStep(m.items, m.users, byItem, data.user);
    halfStep(m.users, m.items, byUser, data.item);
  }
  return m;
}

export function rmse(data: Movielens, selected: Int32Array, predict: (u: number, i: number) => number): number {
  let s = 0;
  for (const n of selected) s += (predict(data.user[n]!, data.item[n]!) - data.rating[n]!) ** 2;
  return Math.sqrt(s / selected.length);
}

export const mfRmse = (data: Movielens, m: Mf, selected: Int32Array) => rmse(data, selected, (u, i) => predictOne(m, u, i));

// ---------------------------------------------------------------- serving reference

/** What the graph holds: float32 item vectors [v_i, 1] and base scores μ + b_i. */
export interface Served {
  d: number;
  lambda: number;
  mu: number;
  movieIds: number[];
  titles: string[];
  vectors: Float32Array; // [items, d + 1], last column 1
  base: Float32Array; // [items]
}

export function served(data: Movielens, m: Mf): Served {
  const D = m.d + 1;
  const vectors = Float32Array.from(m.items);
  const base = new Float32Array(data.movieIds.length);
  for (let i = 0; i < base.length; i++) {
    base[i] = m.mu + m.items[i * D + m.d]!;
    vectors[i * D + m.d] = 1;
  }
  return { d: m.d, lambda: m.lambda, mu: m.mu, movieIds: data.movieIds, titles: data.titles, vectors, base };
}

export interface Recommendation {
  item_ids: number[];
  titles: string[];
  scores: number[];
  rated_known: boolean[];
}

/** The graph's semantics in plain maths: fold-in, score, drop rated and excluded items, sort. */
export function recommend(s: Served, ratedIds: number[], ratings: number[], excludedIds: number[], k: number): Recommendation {
  const D = s.d + 1;
  const index = new Map(s.movieIds.map((id, i) => [id, i]));
  const known = ratedIds.map((id) => index.has(id));
  const rows = ratedIds.flatMap((id) => (index.has(id) ? [index.get(id)!] : []));
  const targets = ratedIds.flatMap((id, j) => (index.has(id) ? [ratings[j]! - s.base[index.get(id)!]!] : []));
  // `ridge` reads the other side's factors and supplies the constant 1 itself.
  const user = ridge(Float64Array.from(s.vectors), s.d, rows, targets, s.lambda);
  const hidden = new Set([...ratedIds, ...excludedIds]);
  const scored = s.movieIds.flatMap((id, i) => {
    if (hidden.has(id)) return [];
    let score = s.base[i]!;
    for (let f = 0; f < D; f++) score += s.vectors[i * D + f]! * user[f]!;
    return [{ i, score }];
  });
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  const top = scored.slice(0, Math.max(0, k));
  return {
    item_ids: top.map((t) => s.movieIds[t.i]!),
    titles: top.map((t) => s.titles[t.i]!),
    scores: top.map((t) => t.score),
    rated_known: known,
  };
}

// ---------------------------------------------------------------- build

const SCRIPT = 'scripts/build-models.ts';
const HOLDOUT = 0.1;
const FACTORS = 32;
const ITERATIONS = 15;
const LAMBDAS = [5, 10, 15, 20];
const BIAS_LAMBDAS = [1, 2, 5, 10];

export interface Case {
  name: string;
  rated_ids: number[];
  ratings: number[];
  excluded_ids: number[];
  k: number;
}

type Ort = typeof ortNode;

async function runGraph(ort: Ort, session: ortNode.InferenceSession, c: Case): Promise<Recommendation> {
  const ids = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [v.length]);
  const out = await session.run({
    rated_ids: ids(c.rated_ids),
    ratings: new ort.Tensor('float32', Float32Array.from(c.ratings), [c.ratings.length]),
    excluded_ids: ids(c.excluded_ids),
    k: ids([c.k]),
  });
  return {
    item_ids: Array.from(out.item_ids!.data as BigInt64Array, Number),
    titles: Array.from(out.titles!.data as string[]),
    scores: Array.from(out.scores!.data as Float32Array),
    rated_known: Array.from(out.rated_known!.data as Uint8Array, Boolean),
  };
}

/**
 * Throws unless the graph agrees with the reference: same ids and titles (in order, or as sets),
 * scores within 1e-4. Returns the largest score difference.
 */
function compare(name: string, got: Recommendation, want: Recommendation, ordered: boolean): number {
  const fail = (what: string) => {
    throw new Error(`movielens ${name}: graph and reference differ in ${what}`);
  };
  if (got.item_ids.length !== want.item_ids.length) fail('length');
  if (got.rated_known.join() !== want.rated_known.join()) fail('rated_known');
  const wanted = new Map(want.item_ids.map((id, j) => [id, j]));
  let error = 0;
  got.item_ids.forEach((id, j) => {
    const w = ordered ? (want.item_ids[j] === id ? j : undefined) : wanted.get(id);
    if (w === undefined) fail(`item ${j}`);
    if (got.titles[j] !== want.titles[w!]) fail(`title ${j}`);
    if (!(Math.abs(got.scores[j]! - want.scores[w!]!) <= 1e-4)) fail(`score ${j}: ${got.scores[j]} vs ${want.scores[w!]}`);
    if (j > 0 && got.scores[j]! > got.scores[j - 1]!) fail(`order at ${j}`);
    error = Math.max(error, Math.abs(got.scores[j]! - want.scores[w!]!));
  });
  return error;
}

/** Ids of movies by exact title, as the graph names them ("Title (year)"). */
function byTitle(s: Served, titles: string[]): number[] {
  return titles.map((t) => {
    const i = s.titles.indexOf(t);
    if (i < 0) throw new Error(`movielens: no movie titled ${t}`);
    return s.movieIds[i]!;
  });
}

/** Chooses λ on a validation split of the training ratings, then scores on the hold-out. */
function evaluate(data: Movielens, log: (line: string) => void) {
  const all = Int32Array.from(data.rating, (_, n) => n);
  const { train, test } = split(all.length, HOLDOUT, seededRandom(42));
  const inner = split(train.length, HOLDOUT, seededRandom(43));
  const [fit, validation] = [inner.train.map((j) => train[j]!), inner.test.map((j) => train[j]!)];
  const pick = (d: number, lambdas: number[]) => {
    const scored = lambdas.map((lambda) => {
      const score = mfRmse(data, trainMf(data, fit, { d, lambda, iterations: ITERATIONS, seed: 1 }), validation);
      log(`d=${d} λ=${lambda}: validation RMSE ${score.toFixed(4)}`);
      return { lambda, score };
    });
    return scored.reduce((a, b) => (b.score < a.score ? b : a)).lambda;
  };
  const lambda = pick(FACTORS, LAMBDAS);
  const biasLambda = pick(0, BIAS_LAMBDAS);
  const mf = trainMf(data, train, { d: FACTORS, lambda, iterations: ITERATIONS, seed: 1 });
  const biases = trainMf(data, train, { d: 0, lambda: biasLambda, iterations: ITERATIONS, seed: 1 });
  return {
    lambda,
    model: mfRmse(data, mf, test),
    biasOnly: mfRmse(data, biases, test),
    globalMean: rmse(data, test, () => mf.mu),
  };
}

/** The fixture cases, and edge cases that are only checked. */
function testCases(data: Movielens, s: Served): { cases: Case[]; edges: Case[] } {
  const animated = byTitle(s, ['Toy Story (1995)', 'Lion King, The (1994)', 'Aladdin (1992)', 'Beauty and the Beast (1991)', 'Finding Nemo (2003)']);
  const classics = byTitle(s, ['Casablanca (1942)', 'Citizen Kane (1941)', '2001: A Space Odyssey (1968)']);
  const crime = byTitle(s, ['Pulp Fiction (1994)', 'Reservoir Dogs (1992)', 'Goodfellas (1990)']);
  const liked = [5, 5, 4.5, 5, 5];
  const ratingsOf = (u: number) => {
    const ns = Array.from(data.rating.keys()).filter((n) => data.user[n] === u);
    return { rated_ids: ns.map((n) => data.movieIds[data.item[n]!]!), ratings: ns.map((n) => data.rating[n]!) };
  };
  const counts = new Int32Array(data.users);
  for (const u of data.user) counts[u]!++;
  const heaviest = counts.indexOf(Math.max(...counts));
  const cases: Case[] = [
    { name: 'cold start: no ratings', rated_ids: [], ratings: [], excluded_ids: [], k: 10 },
    { name: 'new user: 5 animated films rated highly', rated_ids: animated, ratings: liked, excluded_ids: animated, k: 10 },
    {
      // Low ratings move the factors far more than further high ones, which mostly raise b_u.
      name: 'same user also dislikes 3 old classics',
      rated_ids: [...animated, ...classics],
      ratings: [...liked, 1, 1, 1.5],
      excluded_ids: [...animated, ...classics],
      k: 10,
    },
    {
      name: 'animated user with their previous top 20 excluded',
      rated_ids: animated,
      ratings: liked,
      excluded_ids: recommend(s, animated, liked, [], 20).item_ids,
      k: 10,
    },
    { name: 'MovieLens userId 1 as a new user', ...ratingsOf(data.userIds.indexOf(1)), excluded_ids: [], k: 10 },
  ];
  const edges: Case[] = [
    { name: 'unknown ids', rated_ids: [999999999, animated[0]!, -5], ratings: [1, 5, 3], excluded_ids: [123456789], k: 5 },
    { name: 'k beyond the catalogue', rated_ids: crime, ratings: [5, 4, 3], excluded_ids: animated, k: 1_000_000 },
    { name: 'k = 0', rated_ids: [], ratings: [], excluded_ids: [], k: 0 },
    { name: 'k < 0', rated_ids: animated, ratings: liked, excluded_ids: [], k: -3 },
    { name: 'everything excluded', rated_ids: [], ratings: [], excluded_ids: s.movieIds, k: 10 },
    // The worst conditioned fold-in: A's bias entry grows with the number of ratings.
    { name: `userId ${data.userIds[heaviest]} (${counts[heaviest]} ratings)`, ...ratingsOf(heaviest), excluded_ids: [], k: 10 },
  ];
  return { cases, edges };
}

/** Runs every case through both runtimes against the reference; returns each case's largest score difference. */
async function checkGraph(model: Uint8Array, s: Served, cases: Case[]): Promise<number[]> {
  // workerd has no threads; run the wasm backend the same way.
  ortWeb.env.wasm.numThreads = 1;
  const errors = cases.map(() => 0);
  for (const [name, ort] of [['onnxruntime-node', ortNode], ['onnxruntime-web', ortWeb as unknown as Ort]] as const) {
    const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
    for (const [j, c] of cases.entries()) {
      const want = recommend(s, c.rated_ids, c.ratings, c.excluded_ids, c.k);
      // Long lists hold near-ties whose order float32 may swap; those are compared as sets.
      const error = compare(`${c.name} (${name})`, await runGraph(ort, session, c), want, want.item_ids.length <= 10);
      errors[j] = Math.max(errors[j]!, error);
    }
    await session.release();
    console.log(`movielens: ${name} agrees with the reference on ${cases.length} cases`);
  }
  return errors;
}

export async function buildMovielens(): Promise<void> {
  const started = performance.now();
  const log = (line: string) => console.log(`movielens ${line} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const data = loadMovielens();
  const holdout = evaluate(data, log);
  log(`hold-out RMSE: model ${holdout.model.toFixed(4)}, bias-only ${holdout.biasOnly.toFixed(4)}, global mean ${holdout.globalMean.toFixed(4)}`);

  // Served: the same recipe retrained on every rating.
  const { lambda } = holdout;
  const all = Int32Array.from(data.rating, (_, n) => n);
  const final = trainMf(data, all, { d: FACTORS, lambda, iterations: ITERATIONS, seed: 1 });
  log('trained');
  const s = served(data, final);
  const model = recommenderModel(
    s,
    `Movie recommendations for a new user from their MovieLens ratings: biased matrix factorisation (d=${FACTORS}), fold-in by ridge regression (λ=${lambda}) solved in-graph by conjugate gradient, then top-k over unrated, non-excluded movies.`,
  );

  const { cases, edges } = testCases(data, s);
  const references = cases.map((c) => recommend(s, c.rated_ids, c.ratings, c.excluded_ids, c.k));
  const [cold, animated, , masked, user1] = references.map((r, j) => ({ ...cases[j]!, ...r }));
  // The fold-in is the training's user step, so userId 1 folded in must get back their trained vector.
  const u1 = data.userIds.indexOf(1);
  const rows = user1!.rated_ids.map((id) => s.movieIds.indexOf(id));
  const folded = ridge(final.items, FACTORS, rows, user1!.ratings.map((r, j) => r - s.base[rows[j]!]!), lambda);
  const drift = Math.max(...folded.map((v, f) => Math.abs(v - final.users[u1 * (FACTORS + 1) + f]!)));
  if (drift > 1e-5) throw new Error(`movielens: folding in userId 1 does not give their trained vector (${drift})`);
  if (cold!.scores.some((x, j) => x !== s.base[s.movieIds.indexOf(cold!.item_ids[j]!)])) throw new Error('movielens: cold start is not μ + b_i');
  const next = recommend(s, animated!.rated_ids, animated!.ratings, [], 30).item_ids.slice(20);
  if (masked!.item_ids.join() !== next.join()) throw new Error('movielens: excluding the top 20 did not give ranks 21-30');

  const errors = await checkGraph(model, s, [...cases, ...edges]);
  log(`graph scores within ${Math.max(...errors).toExponential(1)} of the reference`);
  // Fixture ids are compared exactly, so a near-tie within a case's top k + 1 must stay far above the float32 error.
  const gaps = cases.map((c) => {
    const r = recommend(s, c.rated_ids, c.ratings, c.excluded_ids, c.k + 1).scores;
    return Math.min(...r.slice(1).map((x, j) => r[j]! - x));
  });
  console.log(`movielens smallest score gap in each fixture's top k+1: ${gaps.map((g) => g.toExponential(1)).join(', ')}`);
  if (gaps.some((g, j) => g < 10 * errors[j]!)) throw new Error('movielens: a fixture case has a near-tie; its order would be fragile');
  references.forEach((r, j) => console.log(`movielens ${cases[j]!.name}: ${r.titles.slice(0, 3).join(' | ')}`));

  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  write('models/movielens/1/model.onnx', model);
  writeJson(resolve(root, 'models/movielens/config.json'), {
    description: `Movie recommender over ${s.movieIds.length} MovieLens movies: a new user's ratings in, the top k unseen movies out (biased matrix factorisation, fold-in and ranking inside the graph)`,
    platform: 'onnxruntime_onnx',
    max_batch_size: 0,
    session: { kind: 'recommender', idle_timeout_seconds: 1800 },
    // The graph compares every rated and excluded id with every movie: bound them for /infer as sessions do.
    max_input_elements: { rated_ids: 200, ratings: 200, excluded_ids: 500, k: 1 },
    training: {
      data: `MovieLens latest-small (GroupLens; research use, see ${DATA_DIR}/README.md), ${DATA_DIR}/; RMSEs on a seeded random ${HOLDOUT * 100}% of ratings held out, λ chosen on a validation split of the rest; the served model is retrained on all ratings`,
      method: `alternating least squares, ${ITERATIONS} iterations, λ on [u, b_u] and [v_i, b_i]`,
      factors: FACTORS,
      lambda,
      holdout_rmse: round4(holdout.model),
      global_mean_rmse: round4(holdout.globalMean),
      bias_only_rmse: round4(holdout.biasOnly),
      ratings: all.length,
      users: data.users,
      items: s.movieIds.length,
      script: SCRIPT,
    },
  });
  writeJson(resolve(root, 'test/fixtures/movielens-reference.json'), {
    description: 'Recommendations computed in plain TypeScript (Gaussian elimination for the fold-in); the graph matches ids exactly and scores within 1e-4',
    cases: cases.map((c, j) => ({ ...c, ...references[j]!, scores: references[j]!.scores.map(round6) })),
  });
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function write(rel: string, bytes: Uint8Array): void {
  const path = resolve(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  console.log(`wrote ${rel} (${bytes.length} bytes)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildMovielens();
