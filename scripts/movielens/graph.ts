// The MovieLens recommender as one ONNX graph (no batch dimension): a new user's vector from their
// ratings and rejections, low-rank EASE scores for every movie, masking, and top-k.
import { encodeModel, floatTensor, int32Tensor, int64Tensor, int8Tensor, node, stringTensor, valueInfo } from '../onnx-builder.ts';
import { RATING_NEUTRAL, RATING_SPAN, REJECT_SHARE, type Served } from './served.ts';

/** Score of rated, rejected and excluded items; they are also cut from k, so it never reaches the output. */
const HIDDEN_SCORE = -1e30;
const FLOAT = 1; // TensorProto.DataType code for Cast

export function recommenderModel(s: Served, doc: string): Uint8Array {
  const N = s.movieIds.length;
  const d = s.rank;
  // Movie id → item index; every other id (and the clipped ends) → N, a zero "unknown" row.
  const lookupSize = Math.max(...s.movieIds) + 2;
  const lookup = new Int32Array(lookupSize).fill(N);
  s.movieIds.forEach((id, i) => (lookup[id] = i));
  const withUnknown = (values: Float32Array) => {
    const out = new Float32Array(N + 1);
    out.set(values);
    return out;
  };
  const unknownHidden = new Float32Array(N + 1);
  unknownHidden[N] = 1;
  const initializers = [
    int64Tensor('movie_ids', [N], s.movieIds),
    stringTensor('movie_titles', [N], s.titles),
    int32Tensor('id_lookup', [lookupSize], lookup),
    int64Tensor('id_min', [], [0]),
    int64Tensor('id_max', [], [lookupSize - 1]),
    int32Tensor('unknown_index', [], Int32Array.of(N)),
    // int8 factors with a zero row for unknown ids.
    int8Tensor('factors_q', [N + 1, d], Int8Array.from({ length: (N + 1) * d }, (_, j) => (j < N * d ? s.q[j]! : 0))),
    floatTensor('factor_scale_squared', [d], s.scale.map((x) => x * x)),
    floatTensor('item_scales', [N + 1], withUnknown(s.scales)),
    floatTensor('item_base', [N + 1], withUnknown(s.base)),
    floatTensor('hidden_init', [N + 1], unknownHidden),
    floatTensor('rating_neutral', [], Float32Array.of(RATING_NEUTRAL)),
    floatTensor('rating_span', [], Float32Array.of(RATING_SPAN)),
    floatTensor('reject_share', [1], Float32Array.of(REJECT_SHARE)),
    floatTensor('one', [1], Float32Array.of(1)),
    floatTensor('zero_f', [], Float32Array.of(0)),
    floatTensor('hidden_score', [], Float32Array.of(HIDDEN_SCORE)),
    int64Tensor('axis0', [1], [0]),
    int64Tensor('zero_i', [1], [0]),
    int64Tensor('all_items', [1], [N + 1]),
  ];

  const indexOf = (ids: string) => [
    node('Max', [ids, 'id_min'], [`${ids}_low`]),
    node('Min', [`${ids}_low`, 'id_max'], [`${ids}_clipped`]),
    node('Gather', ['id_lookup', `${ids}_clipped`], [`${ids}_index`]),
  ];
  const nodes = [
    // W = q·diag(scale), so W·Wᵀx = q·(scale² ⊙ qᵀx): only the Cast of q folds at load, into one float copy.
    node('Cast', ['factors_q'], ['factors'], { to: FLOAT }),
    ...indexOf('rated_ids'),
    ...indexOf('rejected_ids'),
    ...indexOf('excluded_ids'),
    node('Less', ['rated_ids_index', 'unknown_index'], ['rated_known']),
    // The user's vector: Σ weight · W_i over rated and rejected items (unknown ids hit the zero row).
    node('Sub', ['ratings', 'rating_neutral'], ['ratings_centred']),
    node('Div', ['ratings_centred', 'rating_span'], ['rating_weights']),
    // Each rejection weighs −min(1, share · Σ positive rating weights / rejections).
    node('Relu', ['rating_weights'], ['pulls']),
    node('ReduceSum', ['pulls'], ['pull'], { keepdims: 1 }),
    node('Mul', ['pull', 'reject_share'], ['push']),
    node('Shape', ['rejected_ids'], ['rejected_shape']),
    node('Cast', ['rejected_shape'], ['rejected_count'], { to: FLOAT }),
    node('Max', ['rejected_count', 'one'], ['rejected_divisor']),
    node('Div', ['push', 'rejected_divisor'], ['push_each']),
    node('Min', ['push_each', 'one'], ['push_capped']),
    node('Neg', ['push_capped'], ['reject_weight']),
    node('Expand', ['reject_weight', 'rejected_shape'], ['reject_weights']),
    node('Concat', ['rating_weights', 'reject_weights'], ['weights'], { axis: 0 }),
    node('Concat', ['rated_ids_index', 'rejected_ids_index'], ['weighted_index'], { axis: 0 }),
    node('Gather', ['factors', 'weighted_index'], ['weighted_rows']),
    node('Unsqueeze', ['weights', 'axis0'], ['weights_row']),
    node('Transpose', ['weights_row'], ['weights_col'], { perm: [1, 0] }),
    node('Mul', ['weighted_rows', 'weights_col'], ['weighted_terms']),
    node('ReduceSum', ['weighted_terms', 'axis0'], ['user_q'], { keepdims: 1 }),
    node('Mul', ['user_q', 'factor_scale_squared'], ['user']),
    // EASE scores c ⊙ (W u) plus the popularity tie-break.
    node('Gemm', ['user', 'factors'], ['raw_row'], { transB: 1 }),
    node('Reshape', ['raw_row', 'all_items'], ['raw']),
    node('Mul', ['raw', 'item_scales'], ['ease_scores']),
    node('Add', ['ease_scores', 'item_base'], ['all_scores']),
    // Rated, rejected and excluded items (and the unknown row) are hidden, and k is cut to the items left.
    node('Concat', ['rated_ids_index', 'rejected_ids_index', 'excluded_ids_index'], ['hide_index'], { axis: 0 }),
    node('Shape', ['hide_index'], ['hide_shape']),
    node('Expand', ['one', 'hide_shape'], ['hide_ones']),
    node('ScatterElements', ['hidden_init', 'hide_index', 'hide_ones'], ['hidden_f'], { axis: 0 }),
    node('Greater', ['hidden_f', 'zero_f'], ['hidden']),
    node('Where', ['hidden', 'hidden_score', 'all_scores'], ['masked_scores']),
    node('ReduceSum', ['hidden_f', 'axis0'], ['hidden_count_f'], { keepdims: 1 }),
    node('Cast', ['hidden_count_f'], ['hidden_count'], { to: 7 }),
    node('Sub', ['all_items', 'hidden_count'], ['eligible_count']),
    node('Min', ['k', 'eligible_count'], ['k_capped']),
    node('Max', ['k_capped', 'zero_i'], ['k_safe']),
    node('TopK', ['masked_scores', 'k_safe'], ['scores', 'top_index'], { axis: 0, largest: 1, sorted: 1 }),
    node('Gather', ['movie_ids', 'top_index'], ['item_ids']),
    node('Gather', ['movie_titles', 'top_index'], ['titles']),
  ];

  return encodeModel({
    name: 'movielens',
    doc,
    nodes,
    initializers,
    inputs: [
      valueInfo('rated_ids', 'INT64', ['rated']),
      valueInfo('ratings', 'FLOAT', ['rated']),
      valueInfo('rejected_ids', 'INT64', ['rejected']),
      valueInfo('excluded_ids', 'INT64', ['excluded']),
      valueInfo('k', 'INT64', [1]),
    ],
    outputs: [
      valueInfo('item_ids', 'INT64', ['top']),
      valueInfo('titles', 'STRING', ['top']),
      valueInfo('scores', 'FLOAT', ['top']),
      valueInfo('rated_known', 'BOOL', ['rated']),
    ],
  });
}
