import { runAttention } from '../runtime/onnx-attention.ts';
import { fetchModel, type ResolvedBackbone } from '../backbones/registry.ts';
import { isKerasCard, type OnnxCard } from '../backbones/types.ts';
import { BackboneError, ConfigError } from '../errors.ts';
import { toMap } from './maps.ts';
import type { ExplainInput, ExplainMap } from './types.ts';

/**
 * Attention rollout (Abnar & Zuidema 2020): per block Â = rows renormalised (0.5·F + 0.5·I), F the heads' attention
 * fused, multiplied through the blocks, R = Â_L ··· Â_1; the map is R's CLS row over the patch tokens.
 */

export interface RolloutOptions {
  /** How the heads are fused: their mean (Abnar & Zuidema), or elementwise max or min (as jacobgil/vit-explain allows). */
  headFusion: 'mean' | 'max' | 'min';
  /**
   * The fraction of each block's fused T×T values, the lowest, set to 0 before the identity is added (vit-explain's
   * discard_ratio); the CLS→CLS value is never dropped. 0 keeps all (Abnar & Zuidema).
   */
  discardRatio: number;
}

export const HEAD_FUSIONS = ['mean', 'max', 'min'] as const;
export const ROLLOUT_DEFAULTS: RolloutOptions = { headFusion: 'mean', discardRatio: 0 };

/** [heads, T, T] → the fused [T, T]. */
function fuseHeads(a: Float32Array, heads: number, tt: number, fusion: RolloutOptions['headFusion']): Float64Array {
  const out = new Float64Array(tt);
  for (let k = 0; k < tt; k++) {
    let v = fusion === 'mean' ? 0 : a[k];
    for (let h = 0; h < heads; h++) {
      const x = a[h * tt + k];
      v = fusion === 'mean' ? v + x / heads : fusion === 'max' ? Math.max(v, x) : Math.min(v, x);
    }
    out[k] = v;
  }
  return out;
}

/** Zero the ⌊ratio · T²⌋ lowest values (ties by position), except entry 0 (CLS→CLS), as vit-explain does. */
function discardLowest(f: Float64Array, ratio: number): void {
  const count = Math.floor(f.length * ratio);
  if (count <= 0) return;
  const order = Array.from(f.keys()).sort((i, j) => f[i] - f[j] || i - j);
  for (const i of order.slice(0, count)) if (i !== 0) f[i] = 0;
}

/**
 * Per block attention ([heads, T, T] row-major, rows summing to 1) → [T, T] rollout R = Â_L ··· Â_1.
 * Example: one block, one head, T = 2, A = [[0, 1], [1, 0]] → Â = [[0.5, 0.5], [0.5, 0.5]].
 */
export function rollout(blocks: readonly Float32Array[], tokens: number, opt: RolloutOptions = ROLLOUT_DEFAULTS): Float64Array {
  if (!(opt.discardRatio >= 0 && opt.discardRatio < 1)) throw new ConfigError(`--discard-ratio ${opt.discardRatio}: give a fraction from 0 up to (not including) 1.`);
  const tt = tokens * tokens;
  let r: Float64Array | undefined;
  for (const a of blocks) {
    const heads = a.length / tt;
    if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`attention of ${a.length} values is not [heads, ${tokens}, ${tokens}]`);
    const hat = fuseHeads(a, heads, tt, opt.headFusion);
    discardLowest(hat, opt.discardRatio);
    for (let i = 0; i < tokens; i++) {
      let sum = 0;
      for (let j = 0; j < tokens; j++) sum += hat[i * tokens + j] = 0.5 * hat[i * tokens + j] + (i === j ? 0.5 : 0);
      for (let j = 0; j < tokens; j++) hat[i * tokens + j] /= sum;
    }
    r = r ? matMul(hat, r, tokens) : hat;
  }
  if (!r) throw new RangeError('rollout needs at least one attention block');
  return r;
}

/** [T, T] · [T, T] → [T, T]. */
export function matMul(a: Float64Array, b: Float64Array, t: number): Float64Array {
  const out = new Float64Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let k = 0; k < t; k++) {
      const v = a[i * t + k];
      if (v === 0) continue;
      for (let j = 0; j < t; j++) out[i * t + j] += v * b[k * t + j];
    }
  }
  return out;
}

/** The patch grid of a ViT card: [input height / patch, input width / patch]. */
export function patchGrid(card: OnnxCard): [number, number] {
  const p = card.patch!;
  return [Math.floor(card.input.height / p), Math.floor(card.input.width / p)];
}

/**
 * [T, T] token matrix → its CLS row (row 0) over the patch tokens, the last gh·gw (CLS and any other prefix tokens
 * dropped), as a [gh, gw] map normalised to [0, 1].
 */
export function clsPatchMap(r: ArrayLike<number>, tokens: number, grid: [number, number]): ExplainMap {
  const [gh, gw] = grid;
  const prefix = tokens - gh * gw;
  if (prefix < 1) throw new BackboneError(`the attention has ${tokens} tokens; a ${gh}x${gw} patch grid needs ${gh * gw} patch tokens after a CLS token.`);
  return toMap(Array.from({ length: gh * gw }, (_, k) => r[prefix + k]), gh, gw);
}

/** The card and model file of a ViT-family ONNX backbone; one ConfigError line naming what else explains it otherwise. */
export async function vitModel(b: ResolvedBackbone, method: string): Promise<{ card: OnnxCard; path: string }> {
  const { card } = b;
  if (isKerasCard(card) || !card.patch) {
    const other = isKerasCard(card) ? 'explain it with --method gradcam' : 'no explanation method serves it yet (gradcam explains the Keras ConvNets)';
    throw new ConfigError(`--method ${method} explains ViT-family ONNX backbones (a card with "patch": ViT, DINO, BEiT, MAE, data2vec, CLIP); ${b.name} is not one: ${other}.`);
  }
  return { card, path: b.files?.image ?? (await fetchModel(card)).image };
}

/** The batch-of-one dims of a preprocessed image in the card's layout; a RangeError when the pixels do not fill them. */
export function imageDims(card: OnnxCard, pixels: Float32Array): number[] {
  const { height: h, width: w, layout } = card.input;
  if (pixels.length !== 3 * h * w) throw new RangeError(`pixels hold ${pixels.length} values; ${card.id} takes one ${h}x${w} RGB image (${3 * h * w})`);
  return layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3];
}

/** Attention rollout of one preprocessed image on onnxruntime: the CLS row over the patch grid, in [0, 1]. */
export async function rolloutMap(input: ExplainInput, opt: RolloutOptions = ROLLOUT_DEFAULTS): Promise<ExplainMap> {
  const { card, path } = await vitModel(input.backbone, 'rollout');
  const blocks = await runAttention(path, input.pixels, imageDims(card, input.pixels));
  const tokens = blocks[0].dims[blocks[0].dims.length - 1];
  return clsPatchMap(rollout(blocks.map((b) => b.data), tokens, opt).subarray(0, tokens), tokens, patchGrid(card));
}
