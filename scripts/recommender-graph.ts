// The MovieLens recommender as one ONNX graph (no batch dimension): fold-in of a new user from
// their ratings, scoring of every item, masking of rated and excluded items, and top-k.
import { encodeModel, floatTensor, int64Tensor, node, stringTensor, valueInfo } from './onnx-builder.ts';
import type { Served } from './train-movielens.ts';

/** Added to CG denominators so that a zero residual (no ratings, or converged) gives 0, not NaN. */
const CG_EPSILON = 1e-20;
/** Score of rated and excluded items; they are also cut from k, so it never reaches the output. */
const HIDDEN_SCORE = -1e30;
// TensorProto.DataType codes for Cast.
const FLOAT = 1;
const INT64 = 7;

export function recommenderModel(s: Served, doc: string): Uint8Array {
  const N = s.movieIds.length;
  const D = s.d + 1;
  const eye = new Float32Array(D * D);
  for (let i = 0; i < D; i++) eye[i * D + i] = s.lambda;
  const initializers = [
    int64Tensor('movie_ids', [N], s.movieIds),
    stringTensor('movie_titles', [N], s.titles),
    floatTensor('item_vectors', [N, D], s.vectors), // [v_i, 1]
    floatTensor('item_base', [N], s.base), // μ + b_i
    floatTensor('lambda_eye', [D, D], eye),
    int64Tensor('axis0', [1], [0]),
    int64Tensor('axis1', [1], [1]),
    int64Tensor('zero_i', [1], [0]),
    floatTensor('zero_f', [], new Float32Array([0])),
    floatTensor('epsilon', [], new Float32Array([CG_EPSILON])),
    floatTensor('hidden_score', [], new Float32Array([HIDDEN_SCORE])),
  ];

  const nodes = [
    // Ids to one-hot rows over the catalogue; an unknown id gives an all-zero row and drops out.
    node('Unsqueeze', ['rated_ids', 'axis1'], ['rated_col']),
    node('Equal', ['rated_col', 'movie_ids'], ['rated_eq']),
    node('Cast', ['rated_eq'], ['rated_onehot'], { to: FLOAT }),
    node('ReduceSum', ['rated_onehot', 'axis1'], ['rated_hits'], { keepdims: 0 }),
    node('Greater', ['rated_hits', 'zero_f'], ['rated_known']),
    // Dense per-item count and rating sum (a movie rated twice counts twice).
    node('ReduceSum', ['rated_onehot', 'axis0'], ['counts'], { keepdims: 0 }),
    node('Unsqueeze', ['ratings', 'axis1'], ['ratings_col']),
    node('Mul', ['rated_onehot', 'ratings_col'], ['rated_values']),
    node('ReduceSum', ['rated_values', 'axis0'], ['rating_sums'], { keepdims: 0 }),
    // Normal equations of the ridge fold-in: A = V'ᵀ M V' + λI, b = V'ᵀ (Σr - M (μ + b_i)).
    node('Unsqueeze', ['counts', 'axis1'], ['counts_col']),
    node('Mul', ['item_vectors', 'counts_col'], ['weighted_vectors']),
    node('Gemm', ['weighted_vectors', 'item_vectors'], ['gram'], { transA: 1 }),
    node('Add', ['gram', 'lambda_eye'], ['A']),
    node('Mul', ['counts', 'item_base'], ['expected_sums']),
    node('Sub', ['rating_sums', 'expected_sums'], ['residual_sums']),
    node('Unsqueeze', ['residual_sums', 'axis0'], ['residual_row']),
    node('MatMul', ['residual_row', 'item_vectors'], ['b']),
  ];

  // Conjugate gradient on A u' = b, unrolled D times from u' = 0; vectors are rows [1, D]
  // (A is symmetric, so p A = (A p)ᵀ). D steps solve a D-dimensional SPD system exactly in exact
  // arithmetic; λ bounds A's eigenvalues from below, so float32 gets close enough too.
  let [x, r, p, rs] = ['', 'b', 'b', 'rs0'];
  nodes.push(node('Mul', ['b', 'b'], ['bb']), node('ReduceSum', ['bb'], ['rs0'], { keepdims: 1 }));
  for (let i = 1; i <= D; i++) {
    const last = i === D;
    nodes.push(
      node('MatMul', [p, 'A'], [`Ap${i}`]),
      node('Mul', [p, `Ap${i}`], [`pAp_terms${i}`]),
      node('ReduceSum', [`pAp_terms${i}`], [`pAp${i}`], { keepdims: 1 }),
      node('Add', [`pAp${i}`, 'epsilon'], [`pAp_safe${i}`]),
      node('Div', [rs, `pAp_safe${i}`], [`alpha${i}`]),
      node('Mul', [`alpha${i}`, p], [`step${i}`]),
    );
    const xNext = last ? 'user' : `x${i}`;
    nodes.push(x ? node('Add', [x, `step${i}`], [xNext]) : node('Identity', [`step${i}`], [xNext]));
    x = xNext;
    if (last) break;
    nodes.push(
      node('Mul', [`alpha${i}`, `Ap${i}`], [`r_step${i}`]),
      node('Sub', [r, `r_step${i}`], [`r${i}`]),
      node('Mul', [`r${i}`, `r${i}`], [`rr${i}`]),
      node('ReduceSum', [`rr${i}`], [`rs${i}`], { keepdims: 1 }),
      node('Add', [rs, 'epsilon'], [`rs_safe${i}`]),
      node('Div', [`rs${i}`, `rs_safe${i}`], [`beta${i}`]),
      node('Mul', [`beta${i}`, p], [`p_keep${i}`]),
      node('Add', [`r${i}`, `p_keep${i}`], [`p${i}`]),
    );
    [r, p, rs] = [`r${i}`, `p${i}`, `rs${i}`];
  }

  nodes.push(
    // scores = μ + b_i + [v_i, 1]·[u, b_u]
    node('Gemm', ['item_vectors', 'user'], ['user_scores_col'], { transB: 1 }),
    node('Squeeze', ['user_scores_col', 'axis1'], ['user_scores']),
    node('Add', ['item_base', 'user_scores'], ['all_scores']),
    // Rated or excluded items are hidden, and k is cut to the items left.
    node('Unsqueeze', ['excluded_ids', 'axis1'], ['excluded_col']),
    node('Equal', ['excluded_col', 'movie_ids'], ['excluded_eq']),
    node('Cast', ['excluded_eq'], ['excluded_onehot'], { to: FLOAT }),
    node('ReduceSum', ['excluded_onehot', 'axis0'], ['excluded_counts'], { keepdims: 0 }),
    node('Add', ['counts', 'excluded_counts'], ['hide_counts']),
    node('Greater', ['hide_counts', 'zero_f'], ['hidden']),
    node('Where', ['hidden', 'hidden_score', 'all_scores'], ['masked_scores']),
    node('Not', ['hidden'], ['eligible']),
    node('Cast', ['eligible'], ['eligible_f'], { to: FLOAT }),
    node('ReduceSum', ['eligible_f'], ['eligible_count_f'], { keepdims: 1 }),
    node('Cast', ['eligible_count_f'], ['eligible_count'], { to: INT64 }),
    node('Min', ['k', 'eligible_count'], ['k_capped']),
    node('Max', ['k_capped', 'zero_i'], ['k_safe']),
    node('TopK', ['masked_scores', 'k_safe'], ['scores', 'top_index'], { axis: 0, largest: 1, sorted: 1 }),
    node('Gather', ['movie_ids', 'top_index'], ['item_ids']),
    node('Gather', ['movie_titles', 'top_index'], ['titles']),
  );

  return encodeModel({
    name: 'movielens',
    doc,
    nodes,
    initializers,
    inputs: [
      valueInfo('rated_ids', 'INT64', ['rated']),
      valueInfo('ratings', 'FLOAT', ['rated']),
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
