import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ResolvedBackbone } from '../backbones/registry.ts';
import { openTokenizer } from '../backbones/tokenizer-files.ts';
import type { OnnxCard } from '../backbones/types.ts';
import { BackboneError, ConfigError } from '../errors.ts';
import { attentionGrads, type AttentionScore } from '../runtime/attention-grads.ts';
import { openOnnx, type Feed } from '../runtime/ort.ts';
import { clsPatchMap, imageDims, matMul, patchGrid, vitModel } from './rollout.ts';
import type { ExplainInput, ExplainMap } from './types.ts';

/**
 * Gradient-weighted attention relevance (Chefer et al. 2021, "Generic Attention-model Explainability for Interpreting
 * Bi-Modal and Encoder-Decoder Transformers", their rule for self-attention): R = I; per block from `startLayer` on,
 * Ā = mean over heads of (∇A ⊙ A)⁺, R ← R + Ā·R; the map is R's CLS row over the patch tokens.
 */

export interface RelevanceOptions {
  /**
   * The first block that adds to R; negative counts from the end. -1, the last block alone, is the default of Chefer
   * et al.'s CLIP code (`start_layer = -1` in `interpret`); 0, every block, is their ViT code's.
   */
  startLayer: number;
}

export const RELEVANCE_DEFAULTS: RelevanceOptions = { startLayer: -1 };

/** `startLayer` as a block index of `blocks` blocks; one ConfigError line outside them. */
function firstBlock(startLayer: number, blocks: number): number {
  const start = startLayer < 0 ? blocks + startLayer : startLayer;
  if (!Number.isInteger(startLayer) || start < 0 || start >= blocks) throw new ConfigError(`--start-layer ${startLayer}: the model has ${blocks} attention blocks; give 0 to ${blocks - 1}, or -1 to -${blocks} counting from the end.`);
  return start;
}

/**
 * Per block attention A and ∂score/∂A ([heads, T, T] row-major each) → [T, T] relevance R.
 * Example: one block, one head, T = 2, A = [[0.5, 0.5], [0.5, 0.5]], ∇A = [[0, 2], [-2, 0]] → Ā = [[0, 1], [0, 0]],
 * R = I + Ā = [[1, 1], [0, 1]].
 */
export function relevance(attention: readonly Float32Array[], grads: readonly Float32Array[], tokens: number, opt: RelevanceOptions = RELEVANCE_DEFAULTS): Float64Array {
  const tt = tokens * tokens;
  const start = firstBlock(opt.startLayer, attention.length);
  let r: Float64Array = new Float64Array(tt);
  for (let i = 0; i < tokens; i++) r[i * tokens + i] = 1;
  attention.forEach((a, l) => {
    if (l < start) return;
    const g = grads[l];
    const heads = a.length / tt;
    if (!Number.isInteger(heads) || heads < 1 || g.length !== a.length) throw new RangeError(`block ${l}: attention of ${a.length} values and gradient of ${g.length} are not both [heads, ${tokens}, ${tokens}]`);
    const bar = new Float64Array(tt);
    for (let h = 0; h < heads; h++) for (let k = 0; k < tt; k++) bar[k] += Math.max(0, g[h * tt + k] * a[h * tt + k]) / heads;
    const ar = matMul(bar, r, tokens);
    for (let k = 0; k < tt; k++) ar[k] += r[k];
    r = ar;
  });
  return r;
}

/**
 * A CLIP card's text tower: the hub file fetched with the backbone or, for a local card, its `text.file` beside the
 * image model.
 */
function textTowerPath(b: ResolvedBackbone, card: OnnxCard): string | undefined {
  if (b.files?.text) return b.files.text;
  if (card.source.kind === 'file' && card.text) return resolve(dirname(card.source.path), card.text.file);
  return undefined;
}

/** Prompt embeddings already computed, by text tower, tokenizer and prompt (a grid explains each prompt on every image). */
const embedded = new Map<string, Float32Array>();

/** The prompt's embedding by the card's text tower ([d]); ConfigError when the card has none. */
async function textEmbedding(b: ResolvedBackbone, card: OnnxCard, text: string, tokenizerDir?: string): Promise<Float32Array> {
  const path = textTowerPath(b, card);
  if (!card.text || !path) throw new ConfigError(`${b.name} has no text tower, so --text cannot be explained; give a class index to explain instead.`);
  const key = JSON.stringify([path, statSync(path, { throwIfNoEntry: false })?.mtimeMs, tokenizerDir, text]);
  const known = embedded.get(key);
  if (known) return known;
  const ids = (await openTokenizer(card, { dir: tokenizerDir })).encode(text);
  const session = await openOnnx(path);
  try {
    const dims = [1, ids.length];
    const feeds: Record<string, Feed> = { input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims } };
    if (session.inputs.some((v) => v.name === 'attention_mask')) feeds.attention_mask = { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims };
    const [out] = await session.runRaw(feeds, [card.text.output]);
    embedded.set(key, out.data);
    return out.data;
  } finally {
    await session.dispose();
  }
}

/** The score explained: the image-text similarity with `text`, the feature or class `classIndex`, else the top one (not for CLIP cards: they need a prompt). */
async function scoreFor(input: ExplainInput, card: OnnxCard): Promise<AttentionScore> {
  // Chefer et al. take CLIP's logit, logit scale · cosine (the scale weighs the products of later blocks against the identity).
  if (input.text !== undefined) return { kind: 'cosine', target: await textEmbedding(input.backbone, card, input.text, input.tokenizerDir), scale: card.text?.logitScale ?? 100 };
  if (input.classIndex !== undefined) return { kind: 'class', index: input.classIndex };
  if (card.text) throw new ConfigError(`--method relevance on ${input.backbone.name} explains its image-text similarity: give a prompt (--text "a photo of a pond").`);
  return { kind: 'top' };
}

/** Chefer et al.'s relevance of one preprocessed image, through the tfjs translation: the CLS row over the patch grid, in [0, 1]. */
export async function relevanceMap(input: ExplainInput, opt: RelevanceOptions = RELEVANCE_DEFAULTS): Promise<ExplainMap> {
  const { card, path } = await vitModel(input.backbone, 'relevance');
  const dims = imageDims(card, input.pixels);
  const score = await scoreFor(input, card);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new BackboneError(`Model file "${path}" does not exist.`);
  const model = { key: `${path}|${st.size}|${st.mtimeMs}`, name: `"${path}"`, bytes: async () => new Uint8Array(await readFile(path)) };
  const g = await attentionGrads(model, { data: input.pixels, dims }, card.output, score);
  const tokens = g.dims[g.dims.length - 1];
  return clsPatchMap(pooledRow(relevance(g.attention, g.grads, tokens, opt), tokens, card.output), tokens, patchGrid(card));
}

/**
 * The row of R that explains what the card pools: the CLS token's, or for mean pooling the mean of the pooled tokens'
 * rows less the identity (from the last block on, nothing reaches the CLS row of a mean-pooled model: BEiT, MAE,
 * data2vec). Example: T = 3, one prefix token, R − I = [[0,0,0], [0,0.2,0.4], [0,0.6,0]] → [0, 0.4, 0.2].
 */
export function pooledRow(r: Float64Array, tokens: number, out: OnnxCard['output']): Float64Array {
  if (out.pooling !== 'mean') return r.subarray(0, tokens);
  const skip = out.prefixTokens ?? 1;
  const row = new Float64Array(tokens);
  for (let i = skip; i < tokens; i++) for (let j = 0; j < tokens; j++) row[j] += (r[i * tokens + j] - (i === j ? 1 : 0)) / (tokens - skip);
  return row;
}
