// Ranking through the recommender graph: the user's vector, scoring, masking and top-k all run inside the model.
import type { DataPlane } from '../runtime/data-plane';
import type { Rating, RecommendedItem } from './session-types';

export interface Ranking {
  items: RecommendedItem[];
  /** Per given rating: whether the model knows its item. */
  known: boolean[];
}

const ids = (values: number[]) => ({ datatype: 'INT64' as const, shape: [values.length], data: BigInt64Array.from(values, BigInt) });

/** What the session knows: ratings pull, rejections push away from what resembles them, excluded items are only hidden. */
export interface Preferences {
  ratings: Rating[];
  rejected: number[];
  excluded: number[];
}

export async function rank(plane: DataPlane, model: { name: string; version: string }, { ratings, rejected, excluded }: Preferences, k: number): Promise<Ranking> {
  const out = await plane.run(
    model.name,
    model.version,
    {
      rated_ids: ids(ratings.map((r) => r.item_id)),
      ratings: { datatype: 'FP32', shape: [ratings.length], data: Float32Array.from(ratings, (r) => r.rating) },
      rejected_ids: ids(rejected),
      excluded_ids: ids(excluded),
      k: ids([k]),
    },
    ['item_ids', 'titles', 'scores', 'rated_known'],
  );
  const titles = out.titles!.data as string[];
  const scores = out.scores!.data as Float32Array;
  return {
    items: Array.from(out.item_ids!.data as BigInt64Array, (id, i) => ({ item_id: Number(id), title: titles[i]!, score: scores[i]! })),
    known: Array.from(out.rated_known!.data as Uint8Array, (b) => b !== 0),
  };
}
