// Top-N metrics over held-out users: Recall@k (hits over min(k, |targets|)) and NDCG@k with binary relevance.
import type { SessionCase } from './data.ts';

/** Indices of the k largest scores, best first, skipping `hidden`; ties go to the lower index. */
export function topK(scores: ArrayLike<number>, k: number, hidden: Set<number>): number[] {
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (hidden.has(i)) continue;
    const s = scores[i]!;
    if (top.length === k && !(s > scores[top[k - 1]!]!)) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && s > scores[top[at - 1]!]!) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

export interface Metrics {
  recall: number;
  ndcg: number;
  users: number;
}

/** A recommender under test: the top k item indices for a case, context items left out. */
export type Ranker = (c: SessionCase, k: number) => number[] | Promise<number[]>;

/** A ranker from a scorer of every item. */
export const byScores = (scorer: (c: SessionCase) => ArrayLike<number>): Ranker => (c, k) => topK(scorer(c), k, new Set(c.items));

export async function evaluate(cases: SessionCase[], ranker: Ranker, k = 20): Promise<Metrics> {
  let recall = 0;
  let ndcg = 0;
  for (const c of cases) {
    const top = await ranker(c, k);
    const ideal = Math.min(k, c.targets.size);
    let dcg = 0;
    let idcg = 0;
    top.forEach((i, rank) => {
      if (c.targets.has(i)) dcg += 1 / Math.log2(rank + 2);
    });
    for (let rank = 0; rank < ideal; rank++) idcg += 1 / Math.log2(rank + 2);
    recall += top.filter((i) => c.targets.has(i)).length / ideal;
    ndcg += dcg / idcg;
  }
  return { recall: recall / cases.length, ndcg: ndcg / cases.length, users: cases.length };
}
