// Builds the served MovieLens recommender: evaluates it against the baselines, retrains it on every
// user, checks the ONNX graph against the plain TypeScript reference in both runtimes, and writes
// the model, its config (with the evaluation table) and the tests' reference cases.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { writeJson } from '../make-fixtures.ts';
import { popularity } from './baselines.ts';
import { DATA_DIR, loadMovielens, ratingsByUser, type Movielens } from './data.ts';
import { ease, easeBasis } from './ease.ts';
import { evaluateRecommenders, interaction, protocol, RANK, table } from './evaluate.ts';
import { recommenderModel } from './graph.ts';
import { POPULARITY_WEIGHT, RATING_NEUTRAL, RATING_SPAN, recommend, REJECT_SHARE, served, type Recommendation, type Served } from './served.ts';

const root = resolve(import.meta.dirname, '../..');
const SEED = 42;

export interface Case {
  name: string;
  rated_ids: number[];
  ratings: number[];
  rejected_ids: number[];
  excluded_ids: number[];
  k: number;
}

type Ort = typeof ortNode;

async function runGraph(ort: Ort, session: ortNode.InferenceSession, c: Case): Promise<Recommendation> {
  const ids = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [v.length]);
  const out = await session.run({
    rated_ids: ids(c.rated_ids),
    ratings: new ort.Tensor('float32', Float32Array.from(c.ratings), [c.ratings.length]),
    rejected_ids: ids(c.rejected_ids),
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
 * scores within 1e-4 of the top score. Returns the largest score difference.
 */
function compare(name: string, got: Recommendation, want: Recommendation, ordered: boolean): number {
  const fail = (what: string) => {
    throw new Error(`movielens ${name}: graph and reference differ in ${what}`);
  };
  if (got.item_ids.length !== want.item_ids.length) fail('length');
  if (got.rated_known.join() !== want.rated_known.join()) fail('rated_known');
  const wanted = new Map(want.item_ids.map((id, j) => [id, j]));
  const top = Math.abs(want.scores[0] ?? 0);
  let error = 0;
  got.item_ids.forEach((id, j) => {
    const w = ordered ? (want.item_ids[j] === id ? j : undefined) : wanted.get(id);
    if (w === undefined) fail(`item ${j}`);
    if (got.titles[j] !== want.titles[w!]) fail(`title ${j}`);
    const difference = Math.abs(got.scores[j]! - want.scores[w!]!);
    if (!(difference <= 1e-4 * top)) fail(`score ${j}: ${got.scores[j]} vs ${want.scores[w!]}`);
    if (j > 0 && got.scores[j]! > got.scores[j - 1]!) fail(`order at ${j}`);
    error = Math.max(error, difference);
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

/** Share of a list's movies that carry any of `genres`. */
export function genreShare(data: Movielens, ids: number[], genres: string[]): number {
  const index = new Map(data.movieIds.map((id, i) => [id, i]));
  return ids.filter((id) => data.genres[index.get(id)!]!.some((g) => genres.includes(g))).length / ids.length;
}

const FAMILY = ['Animation', 'Children'];

/** The fixture cases, and edge cases that are only checked. */
function testCases(data: Movielens, s: Served): { cases: Case[]; edges: Case[] } {
  const animated = byTitle(s, ['Toy Story (1995)', 'Lion King, The (1994)', 'Aladdin (1992)', 'Beauty and the Beast (1991)', 'Finding Nemo (2003)']);
  const classics = byTitle(s, ['Casablanca (1942)', 'Citizen Kane (1941)', '2001: A Space Odyssey (1968)']);
  const horror = byTitle(s, ['Shining, The (1980)', 'Exorcist, The (1973)', 'Halloween (1978)', 'Alien (1979)', 'Nightmare on Elm Street, A (1984)']);
  const crime = byTitle(s, ['Pulp Fiction (1994)', 'Reservoir Dogs (1992)', 'Goodfellas (1990)']);
  const liked = [5, 5, 4.5, 5, 5];
  const byUser = ratingsByUser(data);
  const ratingsOf = (u: number) => ({ rated_ids: Array.from(byUser[u]!, (n) => data.movieIds[data.item[n]!]!), ratings: Array.from(byUser[u]!, (n) => data.rating[n]!) });
  const heaviest = byUser.reduce((best, list, u) => (list.length > byUser[best]!.length ? u : best), 0);
  const fan = { rated_ids: animated, ratings: liked };
  // A session shows the fan ten films; they reject the first three animated ones among them.
  const shown = recommend(s, animated, liked, [], [], 10).item_ids;
  const rejected = shown.filter((id) => genreShare(data, [id], ['Animation']) === 1).slice(0, 3);
  if (rejected.length < 3) throw new Error('movielens: the animated fan is shown fewer than three animated films');
  const cases: Case[] = [
    { name: 'cold start: no ratings', rated_ids: [], ratings: [], rejected_ids: [], excluded_ids: [], k: 10 },
    { name: 'new user: 5 animated films rated highly', ...fan, rejected_ids: [], excluded_ids: [], k: 10 },
    { name: 'new user: 5 horror films rated highly', rated_ids: horror, ratings: liked, rejected_ids: [], excluded_ids: [], k: 10 },
    {
      name: 'same animated fan also dislikes 3 old classics',
      rated_ids: [...animated, ...classics],
      ratings: [...liked, 1, 1, 1.5],
      rejected_ids: [],
      excluded_ids: [],
      k: 10,
    },
    { name: 'animated fan, shown ten, rejects three animated films', ...fan, rejected_ids: rejected, excluded_ids: shown, k: 10 },
    { name: 'animated fan, shown ten, rejects nothing', ...fan, rejected_ids: [], excluded_ids: shown, k: 10 },
    // k = 8: ranks 9-11 tie exactly (movies only userId 1 rated have identical factors).
    { name: 'MovieLens userId 1 as a new user', ...ratingsOf(data.userIds.indexOf(1)), rejected_ids: [], excluded_ids: [], k: 8 },
  ];
  const edges: Case[] = [
    { name: 'unknown ids', rated_ids: [999999999, animated[0]!, -5], ratings: [1, 5, 3], rejected_ids: [-1, 123456789], excluded_ids: [123456789], k: 5 },
    { name: 'k beyond the catalogue', rated_ids: crime, ratings: [5, 4, 3], rejected_ids: [], excluded_ids: animated, k: 1_000_000 },
    { name: 'k = 0', rated_ids: [], ratings: [], rejected_ids: [], excluded_ids: [], k: 0 },
    { name: 'k < 0', ...fan, rejected_ids: [], excluded_ids: [], k: -3 },
    { name: 'everything excluded', rated_ids: [], ratings: [], rejected_ids: [], excluded_ids: s.movieIds, k: 10 },
    { name: 'a movie rated twice counts twice', rated_ids: [...crime, crime[0]!], ratings: [5, 4, 3, 5], rejected_ids: [], excluded_ids: [], k: 10 },
    { name: `userId ${data.userIds[heaviest]} (${byUser[heaviest]!.length} ratings)`, ...ratingsOf(heaviest), rejected_ids: [], excluded_ids: [], k: 10 },
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
      const want = recommend(s, c.rated_ids, c.ratings, c.rejected_ids, c.excluded_ids, c.k);
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
  const { evaluation } = await evaluateRecommenders(data, SEED, log);

  // Served: the evaluated recipe (and its λ) retrained on every user.
  const byUser = ratingsByUser(data);
  const everyone = Array.from({ length: data.users }, (_, u) => u);
  const s = served(data, ease(easeBasis(data, byUser, everyone, interaction), evaluation.lambda, RANK), popularity(data, byUser, everyone));
  log('trained on every user');
  const model = recommenderModel(
    s,
    `Movie recommendations for a new user from their MovieLens ratings: low-rank EASE (rank ${s.rank}, λ=${s.lambda}, int8 factors); ratings weigh (r − ${RATING_NEUTRAL}) / ${RATING_SPAN}; rejections push with ${REJECT_SHARE} of the ratings' pull, shared, at most 1 each; top-k over movies not rated, rejected or excluded.`,
  );

  const { cases, edges } = testCases(data, s);
  const references = cases.map((c) => recommend(s, c.rated_ids, c.ratings, c.rejected_ids, c.excluded_ids, c.k));
  const named = new Map(cases.map((c, j) => [c.name, references[j]!]));
  const share = (name: string, genres: string[]) => genreShare(data, named.get(name)!.item_ids, genres);
  const shares = {
    family: share('new user: 5 animated films rated highly', FAMILY),
    horror: share('new user: 5 horror films rated highly', ['Horror']),
    rejected: share('animated fan, shown ten, rejects three animated films', ['Animation']),
    excluded: share('animated fan, shown ten, rejects nothing', ['Animation']),
  };
  log(`top-10 shares: animated fan ${shares.family} animated/children's, horror fan ${shares.horror} horror; animated after 3 rejections ${shares.rejected} vs ${shares.excluded} when only excluded`);
  if (shares.family < 0.7 || shares.horror < 0.7) throw new Error('movielens: a single-genre user does not get mostly that genre');
  if (!(shares.rejected < shares.excluded)) throw new Error('movielens: rejections do not push the answer away from what resembles them');

  const errors = await checkGraph(model, s, [...cases, ...edges]);
  log(`graph scores within ${Math.max(...errors).toExponential(1)} of the reference`);
  // Fixture ids are compared exactly, so a near-tie within a case's top k + 1 must stay far above the float32 error.
  const gaps = cases.map((c) => {
    const r = recommend(s, c.rated_ids, c.ratings, c.rejected_ids, c.excluded_ids, c.k + 1).scores;
    return Math.min(...r.slice(1).map((x, j) => r[j]! - x));
  });
  console.log(`movielens smallest score gap in each fixture's top k+1: ${gaps.map((g) => g.toExponential(1)).join(', ')}`);
  if (gaps.some((g, j) => g < 10 * errors[j]!)) throw new Error('movielens: a fixture case has a near-tie; its order would be fragile');
  references.forEach((r, j) => console.log(`movielens ${cases[j]!.name}: ${r.titles.slice(0, 3).join(' | ')}`));

  const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
  write('models/movielens/1/model.onnx', model);
  writeJson(resolve(root, 'models/movielens/config.json'), {
    description: `Movie recommender over ${s.movieIds.length} MovieLens movies: a new user's ratings and rejections in, the top k unseen movies out (low-rank EASE, ranking inside the graph)`,
    platform: 'onnxruntime_onnx',
    max_batch_size: 0,
    session: { kind: 'recommender', idle_timeout_seconds: 1800 },
    // Bounded as sessions bound them, so /infer cannot ask for more than a session may.
    max_input_elements: { rated_ids: 200, ratings: 200, rejected_ids: 500, excluded_ids: 500, k: 1 },
    training: {
      data: `MovieLens latest-small (GroupLens; research use, see ${DATA_DIR}/README.md), ${DATA_DIR}/`,
      method: `EASE (Steck 2019) through the users' side (Woodbury: one ${data.users}×${data.users} eigendecomposition), truncated to the ${s.rank} largest components, int8 factors per column; interactions weighted r/5; a session's ratings weigh (r − ${RATING_NEUTRAL}) / ${RATING_SPAN}; its rejections push with ${REJECT_SHARE} of the ratings' positive pull, shared among them, at most 1 each; popularity × ${POPULARITY_WEIGHT} breaks ties`,
      rank: s.rank,
      lambda: s.lambda,
      users: data.users,
      items: s.movieIds.length,
      ratings: data.rating.length,
      factors_gzip_bytes: gzipSync(s.q, { level: 9 }).length,
      evaluation: {
        command: `npm run eval:recommender -- --seed ${evaluation.seed}`,
        protocol: protocol(evaluation),
        results: evaluation.rows.map((r) => ({ model: r.name, detail: r.detail, recall_at_20: round4(r.recall), ndcg_at_20: round4(r.ndcg) })),
      },
      script: 'scripts/movielens/build.ts',
    },
  });
  writeJson(resolve(root, 'test/fixtures/movielens-reference.json'), {
    description: 'Recommendations computed in plain TypeScript (scripts/movielens/served.ts); the graph matches ids exactly and scores within 1e-4 of each case\'s top score',
    cases: cases.map((c, j) => ({ ...c, ...references[j]!, scores: references[j]!.scores.map((x) => Number(x.toPrecision(7))) })),
  });
  console.log(`\n${protocol(evaluation)}\n\n${table(evaluation)}\n`);
}

function write(rel: string, bytes: Uint8Array): void {
  const path = resolve(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  console.log(`wrote ${rel} (${bytes.length} bytes)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildMovielens();
