// Ranking through the recommender graph: fold-in, scoring, masking and top-k all run inside the model.
import { infer } from '../runtime/inference';
import type { LoadedModel } from '../runtime/loaded-model';

export interface Rating {
  item_id: number;
  rating: number;
}

export interface RecommendedItem {
  item_id: number;
  title: string;
  score: number;
}

export interface Ranking {
  items: RecommendedItem[];
  /** Per given rating: whether the model knows its item. */
  known: boolean[];
}

const ids = (name: string, values: number[]) => ({ name, datatype: 'INT64', shape: [values.length], data: values });

export async function rank(model: LoadedModel, ratings: Rating[], excluded: number[], k: number): Promise<Ranking> {
  const { response } = await infer(model, {
    inputs: [
      ids('rated_ids', ratings.map((r) => r.item_id)),
      { name: 'ratings', datatype: 'FP32', shape: [ratings.length], data: ratings.map((r) => r.rating) },
      ids('excluded_ids', excluded),
      ids('k', [k]),
    ],
  });
  const output = (name: string) => response.outputs.find((o) => o.name === name)!.data as unknown[];
  const [itemIds, titles, scores] = [output('item_ids') as number[], output('titles') as string[], output('scores') as number[]];
  return {
    items: itemIds.map((item_id, i) => ({ item_id, title: titles[i]!, score: scores[i]! })),
    known: output('rated_known') as boolean[],
  };
}
