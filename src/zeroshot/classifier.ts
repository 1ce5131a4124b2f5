import { gemm } from '../runtime/gemm.ts';
import { l2Normalized, type Matrix } from '../util/matrix.ts';

/**
 * The zero-shot classifier: per class, the mean of its prompts' L2-normalised text embeddings, normalised again
 * (CLIP's ensembling). `embeds` holds every prompt's embedding, classes in order, `counts[c]` prompts each.
 */
export function classWeights(embeds: Matrix, counts: readonly number[]): Matrix {
  const unit = l2Normalized(embeds);
  const d = embeds.cols;
  const out = new Float32Array(counts.length * d);
  let row = 0;
  counts.forEach((n, c) => {
    for (let k = 0; k < n; k++, row++) for (let j = 0; j < d; j++) out[c * d + j] += unit.data[row * d + j] / n;
  });
  if (row !== embeds.rows) throw new RangeError(`classWeights: ${embeds.rows} embeddings for ${row} prompts`);
  return l2Normalized({ rows: counts.length, cols: d, data: out });
}

/** scale · x̂ · Wᵀ: [n, classes] logits of L2-normalised image embeddings against the class weights. */
export async function zeroShotLogits(images: Matrix, weights: Matrix, scale: number): Promise<Float32Array> {
  const x = l2Normalized(images);
  const logits = await gemm(x.data, [x.rows, x.cols], weights.data, [weights.rows, weights.cols], { transB: true });
  for (let i = 0; i < logits.length; i++) logits[i] *= scale;
  return logits;
}
