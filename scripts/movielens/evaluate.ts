// Top-N evaluation of the recommender against baselines, strong generalisation: held-out users are
// never trained on; each gives its earliest ratings as session context and is scored on the later
// items it liked. `npm run eval:recommender -- --seed N` prints the table for any split.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ortNode from 'onnxruntime-node';
import { itemKnn, popularity } from './baselines.ts';
import { CONTEXT_FRACTION, LIKED, loadMovielens, MAX_CONTEXT, ratingsByUser, sessionCase, splitUsers, type Movielens, type SessionCase } from './data.ts';
import { discounted, ease, easeBasis, easeScores, type Ease } from './ease.ts';
import { recommenderModel } from './graph.ts';
import { byScores, evaluate, type Metrics, type Ranker } from './metrics.ts';
import { mfScores, trainMf } from './mf.ts';
import { POPULARITY_DISCOUNT, ratingWeight, served, type Served } from './served.ts';

export const TEST_USERS = 0.2;
export const TOP = 20;
/** The served rank: int8 factors of 9,066 movies × 256 fit the bundle budget (see the config). */
export const RANK = 256;
const LAMBDAS = [50, 100, 200, 400, 800, 1600];
const MF = { d: 32, lambda: 15, iterations: 15, seed: 1 };
/** Training interactions weigh by rating: a 5★ counts fully, a 1★ a fifth. */
export const interaction = (r: number) => r / 5;

/** Genres probed for taste-following: a new user names five of a genre's most-rated films. */
export const PROBES = ['Animation', 'Horror', 'Documentary', 'Western', 'Musical', 'War', 'Film-Noir', 'Sci-Fi'];
const PROBE_SIZE = 5;
const PROBE_TOP = 10;

export interface Row {
  name: string;
  detail: string;
  recall: number;
  ndcg: number;
  /** Mean share of a probe genre in the top 10 for a user who rated 5 films of it 5★. */
  taste: number;
}

export interface Evaluation {
  seed: number;
  trainUsers: number;
  testUsers: number;
  rows: Row[];
  /** λ chosen for the served low-rank EASE on the validation users. */
  lambda: number;
}

/** Probe cases: the five most-rated training movies of each genre, rated 5★. */
function probes(data: Movielens, counts: Float64Array): { genre: string; c: SessionCase }[] {
  return PROBES.map((genre) => {
    const items = data.movieIds.map((_, i) => i).filter((i) => data.genres[i]!.includes(genre));
    const top = items.sort((a, b) => counts[b]! - counts[a]! || a - b).slice(0, PROBE_SIZE);
    return { genre, c: { user: -1, items: top, ratings: top.map(() => 5), targets: new Set<number>() } };
  });
}

async function tasteFollowing(data: Movielens, cases: { genre: string; c: SessionCase }[], ranker: Ranker): Promise<number> {
  let total = 0;
  for (const { genre, c } of cases) {
    const top = await ranker(c, PROBE_TOP);
    total += top.filter((i) => data.genres[i]!.includes(genre)).length / PROBE_TOP;
  }
  return total / cases.length;
}

const casesOf = (data: Movielens, byUser: Int32Array[], users: number[]) => users.flatMap((u) => sessionCase(data, u, byUser[u]!) ?? []);

/** The λ of the grid with the best validation Recall@20 for models built from `fit` users. */
async function tuneLambda(
  data: Movielens,
  byUser: Int32Array[],
  fit: number[],
  validation: SessionCase[],
  value: (r: number) => number,
  weight: (r: number) => number,
  model: (basis: ReturnType<typeof easeBasis>, lambda: number) => Ease,
) {
  const basis = easeBasis(data, byUser, fit, value);
  const scored = [];
  for (const lambda of LAMBDAS) {
    const m = model(basis, lambda);
    scored.push({ lambda, recall: (await evaluate(validation, byScores((c) => easeScores(m, c.items, c.ratings.map(weight))), TOP)).recall });
  }
  return scored.reduce((a, b) => (b.recall > a.recall ? b : a)).lambda;
}

/** Runs the served graph in onnxruntime-node for each case: the row of the served model is the model itself. */
async function graphRanker(s: Served): Promise<Ranker> {
  const session = await ortNode.InferenceSession.create(recommenderModel(s, 'evaluation'), { logSeverityLevel: 3 });
  const index = new Map(s.movieIds.map((id, i) => [id, i]));
  const ids = (v: number[]) => new ortNode.Tensor('int64', BigInt64Array.from(v, BigInt), [v.length]);
  return async (c, k) => {
    const out = await session.run({
      rated_ids: ids(c.items.map((i) => s.movieIds[i]!)),
      ratings: new ortNode.Tensor('float32', Float32Array.from(c.ratings), [c.ratings.length]),
      rejected_ids: ids([]),
      excluded_ids: ids([]),
      k: ids([k]),
    });
    return Array.from(out.item_ids!.data as BigInt64Array, (id) => index.get(Number(id))!);
  };
}

export async function evaluateRecommenders(data: Movielens, seed: number, log: (line: string) => void = () => {}): Promise<{ evaluation: Evaluation; served: Served }> {
  const byUser = ratingsByUser(data);
  const { train, test } = splitUsers(data.users, TEST_USERS, seed);
  const inner = splitUsers(train.length, TEST_USERS, seed + 1);
  const fit = inner.train.map((j) => train[j]!);
  const validation = casesOf(data, byUser, inner.test.map((j) => train[j]!));
  const cases = casesOf(data, byUser, test);
  const counts = popularity(data, byUser, train);
  const genreCases = probes(data, counts);
  const rows: Row[] = [];
  const add = async (name: string, detail: string, ranker: Ranker) => {
    const m = await evaluate(cases, ranker, TOP);
    const taste = await tasteFollowing(data, genreCases, ranker);
    rows.push({ name, detail, recall: m.recall, ndcg: m.ndcg, taste });
    log(`${name}: Recall@${TOP} ${m.recall.toFixed(4)}, NDCG@${TOP} ${m.ndcg.toFixed(4)}, taste@${PROBE_TOP} ${taste.toFixed(2)}`);
  };

  await add('popularity', 'most-rated movies among training users', byScores(() => counts));
  const knn = itemKnn(data, byUser, train);
  await add('item-kNN', 'cosine similarity of binary interactions, summed over the context', byScores((c) => knn(c.items)));
  const mf = trainMf(data, byUser, train, MF);
  await add('matrix factorisation (served until now)', `biased MF by ALS, d=${MF.d}, λ=${MF.lambda}, new user folded in from rating values`, byScores((c) => mfScores(mf, c.items, c.ratings)));

  const full = Number.MAX_SAFE_INTEGER;
  const one = () => 1;
  const binaryLambda = await tuneLambda(data, byUser, fit, validation, one, one, (b, lambda) => ease(b, lambda, full));
  const binary = ease(easeBasis(data, byUser, train, one), binaryLambda, full);
  await add('EASE, full (binary)', `Steck 2019 on binary interactions, all items, λ=${binaryLambda}`, byScores((c) => easeScores(binary, c.items, c.items.map(one))));

  const weightedLambda = await tuneLambda(data, byUser, fit, validation, interaction, ratingWeight, (b, lambda) => ease(b, lambda, full));
  const fitCounts = popularity(data, byUser, fit);
  const lowLambda = await tuneLambda(data, byUser, fit, validation, interaction, ratingWeight, (b, lambda) => discounted(ease(b, lambda, RANK), fitCounts, POPULARITY_DISCOUNT));
  const basis = easeBasis(data, byUser, train, interaction);
  const weighted = ease(basis, weightedLambda, full);
  await add('EASE, full (rating-weighted)', `interactions weighted r/5, context (r − 2.5)/2.5, all items, λ=${weightedLambda}`, byScores((c) => easeScores(weighted, c.items, c.ratings.map(ratingWeight))));
  const lowRank = served(data, ease(basis, lowLambda, RANK), counts);
  const undiscounted = served(data, ease(basis, lowLambda, RANK), counts, 0);
  await add('low-rank EASE without the popularity discount', `as served, but scores not divided by popularity^${POPULARITY_DISCOUNT}`, await graphRanker(undiscounted));
  await add('low-rank EASE (served)', `rating-weighted EASE, rank ${RANK}, int8 factors, scores ÷ popularity^${POPULARITY_DISCOUNT}, λ=${lowLambda}; run as the ONNX graph`, await graphRanker(lowRank));
  return { evaluation: { seed, trainUsers: train.length, testUsers: cases.length, rows, lambda: lowLambda }, served: lowRank };
}

export function table(e: Evaluation): string {
  const reference = (name: string) => e.rows.find((r) => r.name === name)!.recall;
  const [binary, weighted] = [reference('EASE, full (binary)'), reference('EASE, full (rating-weighted)')];
  const lines = [
    `| model | Recall@${TOP} | NDCG@${TOP} | Recall ÷ full EASE | Recall ÷ full rating-weighted EASE | taste@${PROBE_TOP} |`,
    '|---|---|---|---|---|---|',
    ...e.rows.map(
      (r) =>
        `| **${r.name}**: ${r.detail} | ${r.recall.toFixed(4)} | ${r.ndcg.toFixed(4)} | ${(r.recall / binary).toFixed(2)}× | ${(r.recall / weighted).toFixed(2)}× | ${r.taste.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}

export const protocol = (e: Evaluation) =>
  `Users split by seed ${e.seed}: ${Math.round(TEST_USERS * 100)}% held out entirely (${e.testUsers} with targets), ${e.trainUsers} trained on; λ tuned on a further ${Math.round(TEST_USERS * 100)}% of the training users. Each held-out user gives their earliest ${Math.round(CONTEXT_FRACTION * 100)}% of ratings (at most ${MAX_CONTEXT}) with values as context; targets are their later movies rated ≥ ${LIKED}; top ${TOP} with context movies excluded; Recall@${TOP} = hits ÷ min(${TOP}, targets). taste@${PROBE_TOP}: for each of ${PROBES.join(', ')}, a new user rates that genre's ${PROBE_SIZE} most-rated training movies 5★; the mean share of that genre in their top ${PROBE_TOP}.`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seed: { type: 'string', default: '42' } } });
  const { evaluation } = await evaluateRecommenders(loadMovielens(), Number(values.seed), (line) => console.error(line));
  console.log(`${protocol(evaluation)}\n\n${table(evaluation)}`);
}
