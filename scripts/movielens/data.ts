// MovieLens "latest-small": loading, and the held-out-user split the recommender is evaluated on.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { seededRandom } from '../train.ts';

const root = resolve(import.meta.dirname, '../..');
export const DATA_DIR = 'data/movielens-small';

export interface Movielens {
  /** movieIds in ascending order; item index i is movieIds[i]. */
  movieIds: number[];
  titles: string[];
  genres: string[][];
  user: Int32Array; // per rating: user index
  item: Int32Array; // per rating: item index
  rating: Float64Array;
  time: Float64Array; // unix seconds
  users: number;
  /** userId of each user index. */
  userIds: number[];
}

const rows = (file: string): string[][] => parse(readFileSync(resolve(root, DATA_DIR, file)), { from_line: 2 });

export function loadMovielens(): Movielens {
  const movies = rows('movies.csv')
    .map(([id, title, year, genres]) => ({ id: Number(id), title: title!, year: year!, genres: genres!.split('|') }))
    .sort((a, b) => a.id - b.id);
  const index = new Map(movies.map((m, i) => [m.id, i]));
  const ratings = rows('ratings.csv');
  const userIndex = new Map<number, number>();
  const data = {
    user: new Int32Array(ratings.length),
    item: new Int32Array(ratings.length),
    rating: new Float64Array(ratings.length),
    time: new Float64Array(ratings.length),
  };
  ratings.forEach(([userId, movieId, rating, time], n) => {
    const u = Number(userId);
    if (!userIndex.has(u)) userIndex.set(u, userIndex.size);
    const i = index.get(Number(movieId));
    if (i === undefined) throw new Error(`ratings.csv: unknown movieId ${movieId}`);
    data.user[n] = userIndex.get(u)!;
    data.item[n] = i;
    data.rating[n] = Number(rating);
    data.time[n] = Number(time);
  });
  return {
    movieIds: movies.map((m) => m.id),
    // A few rows have no title in the data ("NA"); name them by id rather than serve "NA".
    titles: movies.map((m) => (m.title === 'NA' ? `movie ${m.id}` : `${m.title} (${m.year})`)),
    genres: movies.map((m) => m.genres),
    ...data,
    users: userIndex.size,
    userIds: [...userIndex.keys()],
  };
}

/** Ratings (indices into the data) of each user, oldest first; ties keep file order. */
export function ratingsByUser(data: Movielens): Int32Array[] {
  const lists: number[][] = Array.from({ length: data.users }, () => []);
  data.user.forEach((u, n) => lists[u]!.push(n));
  return lists.map((ns) => Int32Array.from(ns.sort((a, b) => data.time[a]! - data.time[b]! || a - b)));
}

/** Users shuffled by `seed`, the first `fraction` of them held out. */
export function splitUsers(users: number, fraction: number, seed: number): { train: number[]; test: number[] } {
  const rand = seededRandom(seed);
  const order = Array.from({ length: users }, (_, i) => i);
  for (let i = users - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const held = Math.round(users * fraction);
  return { test: order.slice(0, held).sort((a, b) => a - b), train: order.slice(held).sort((a, b) => a - b) };
}

/** A held-out user as a session sees them: the context given, the items to find. */
export interface SessionCase {
  user: number;
  /** Item indices and ratings of the context, oldest first. */
  items: number[];
  ratings: number[];
  /** Item indices rated ≥ 4 after the context's cut, not in the context. */
  targets: Set<number>;
}

export const CONTEXT_FRACTION = 0.8;
export const MAX_CONTEXT = 50;
export const LIKED = 4;

/** The earliest 80 % of a user's ratings (at most 50) as context; their later items rated ≥ 4 as targets. */
export function sessionCase(data: Movielens, user: number, ratings: Int32Array): SessionCase | undefined {
  const cut = Math.floor(ratings.length * CONTEXT_FRACTION);
  const context = ratings.subarray(0, Math.min(cut, MAX_CONTEXT));
  const items = Array.from(context, (n) => data.item[n]!);
  const seen = new Set(items);
  const targets = new Set(Array.from(ratings.subarray(cut)).filter((n) => data.rating[n]! >= LIKED && !seen.has(data.item[n]!)).map((n) => data.item[n]!));
  if (!context.length || !targets.size) return undefined;
  return { user, items, ratings: Array.from(context, (n) => data.rating[n]!), targets };
}
