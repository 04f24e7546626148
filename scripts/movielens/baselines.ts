// Baselines of the evaluation: popularity and item-kNN (cosine on who rated what).
import type { Movielens } from './data.ts';

/** Number of training users who rated each item. */
export function popularity(data: Movielens, byUser: Int32Array[], users: number[]): Float64Array {
  const counts = new Float64Array(data.movieIds.length);
  for (const u of users) for (const n of byUser[u]!) counts[data.item[n]!]!++;
  return counts;
}

/** Item-kNN: an item scores the sum of its cosine similarities to the context items, over binary interactions. */
export function itemKnn(data: Movielens, byUser: Int32Array[], users: number[]): (items: number[]) => Float64Array {
  const N = data.movieIds.length;
  const raters: number[][] = Array.from({ length: N }, () => []);
  for (const u of users) for (const n of byUser[u]!) raters[data.item[n]!]!.push(u);
  const norm = raters.map((r) => Math.sqrt(r.length));
  return (items) => {
    const scores = new Float64Array(N);
    for (const i of new Set(items)) {
      const co = new Float64Array(N);
      for (const u of raters[i]!) for (const n of byUser[u]!) co[data.item[n]!]!++;
      for (let j = 0; j < N; j++) if (co[j]) scores[j]! += co[j]! / (norm[i]! * norm[j]!);
    }
    return scores;
  };
}
