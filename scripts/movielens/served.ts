// What the recommender graph holds, and its semantics in plain TypeScript: the reference that the
// graph is checked against and that the tests' fixtures come from.
import { discounted, easeScores, quantize, type Ease } from './ease.ts';
import type { Movielens } from './data.ts';

/** A rating r counts as (r − 2.5) / 2.5 in the user's vector: 5★ pulls with 1, 1★ pushes with −0.6. */
export const RATING_NEUTRAL = 2.5;
export const RATING_SPAN = 2.5;
/**
 * Rejections push away from what resembles them with at most half the pull of the ratings, shared
 * among them, and each at most as hard as a 5★ pulls: a "try again" that rejects ten films then
 * moves the answer without turning the user into the opposite of what they rated.
 */
export const REJECT_SHARE = 0.5;
/**
 * Scores divide by popularity^0.25. Without it a new user who names five animated films gets
 * Forrest Gump and Jurassic Park (the catalogue's most watched) before most animated films;
 * the evaluation table shows what it costs in Recall.
 */
export const POPULARITY_DISCOUNT = 0.375;
/** Popularity only breaks ties (a cold start has no other signal): far below any EASE score difference that matters. */
export const POPULARITY_WEIGHT = 1e-4;

export const ratingWeight = (r: number) => (r - RATING_NEUTRAL) / RATING_SPAN;

/** The weight of each rejected item, given every rating (known ids or not, as the graph sums them) and the number of rejections. */
export function rejectWeight(ratings: number[], rejected: number): number {
  const pull = ratings.reduce((sum, r) => sum + Math.max(0, Math.fround(ratingWeight(r))), 0);
  return -Math.min(1, (REJECT_SHARE * pull) / Math.max(rejected, 1));
}

export interface Served {
  lambda: number;
  rank: number;
  movieIds: number[];
  titles: string[];
  /** int8 factors [items, rank] and their per-column scale: W ≈ q · scale. */
  q: Int8Array;
  scale: Float32Array;
  /** The factors as the graph computes them (float32). */
  factors: Float32Array;
  scales: Float32Array; // c_j
  base: Float32Array; // popularity tie-break
}

export function served(data: Movielens, m: Ease, popularity: Float64Array, alpha = POPULARITY_DISCOUNT): Served {
  const { q, scale, dequantized } = quantize(m);
  const { scales } = discounted(m, popularity, alpha);
  const most = Math.max(...popularity);
  return {
    lambda: m.lambda,
    rank: m.rank,
    movieIds: data.movieIds,
    titles: data.titles,
    q,
    scale,
    factors: dequantized,
    scales: Float32Array.from(scales),
    base: Float32Array.from(popularity, (p) => (POPULARITY_WEIGHT * Math.log1p(p)) / Math.log1p(most)),
  };
}

/** Scores of every item (float64) for a user given as item indices and weights. */
export function servedScores(s: Served, items: number[], weights: number[]): Float64Array {
  return easeScores(s, items, weights).map((score, j) => score + s.base[j]!);
}

export interface Recommendation {
  item_ids: number[];
  titles: string[];
  scores: number[];
  rated_known: boolean[];
}

/** The graph in plain maths: weigh ratings and rejections, score, hide rated/rejected/excluded items, sort. */
export function recommend(s: Served, ratedIds: number[], ratings: number[], rejectedIds: number[], excludedIds: number[], k: number): Recommendation {
  const index = new Map(s.movieIds.map((id, i) => [id, i]));
  const known = ratedIds.map((id) => index.has(id));
  const items: number[] = [];
  const weights: number[] = [];
  ratedIds.forEach((id, j) => {
    if (index.has(id)) items.push(index.get(id)!), weights.push(ratingWeight(ratings[j]!));
  });
  const reject = rejectWeight(ratings, rejectedIds.length);
  for (const id of rejectedIds) if (index.has(id)) items.push(index.get(id)!), weights.push(reject);
  const scores = servedScores(s, items, weights);
  const hidden = new Set([...ratedIds, ...rejectedIds, ...excludedIds]);
  const ranked = s.movieIds.flatMap((id, i) => (hidden.has(id) ? [] : [{ i, score: scores[i]! }]));
  ranked.sort((a, b) => b.score - a.score || a.i - b.i);
  const top = ranked.slice(0, Math.max(0, k));
  return {
    item_ids: top.map((t) => s.movieIds[t.i]!),
    titles: top.map((t) => s.titles[t.i]!),
    scores: top.map((t) => t.score),
    rated_known: known,
  };
}
