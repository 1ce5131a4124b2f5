import type { Matrix } from '../util/matrix.ts';

export type Interpolation = 'bilinear' | 'bicubic' | 'nearest';

/** How an image becomes the model's input tensor (transformers.js order: RGB → resize → crop → rescale → normalize → layout). */
export interface Preprocess {
  /**
   * `stretch`: resize to exactly the input size, ignoring aspect ratio (what nsfwjs does).
   * `shorter`: resize the shorter side to `resizeTo` keeping aspect ratio, then center-crop to the input size
   * (torchvision's Resize(int) + CenterCrop).
   */
  resize: 'stretch' | 'shorter';
  /** Shorter side before the crop; only for `shorter`. */
  resizeTo?: number;
  interpolation: Interpolation;
  /** Multiplies 0..255 pixels, e.g. 1/255. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface InputSpec {
  /** Input tensor name; default the model's first input. */
  name?: string;
  height: number;
  width: number;
  channels: 3;
  layout: 'NHWC' | 'NCHW';
}

/**
 * How the feature vector comes out of `output`:
 * `cls` = token 0 of a [n, tokens, d] output; `mean` = mean of the tokens after the first `prefixTokens`
 * (patch tokens); `gap` = mean over space of a [n, c, h, w] (or NHWC for Keras taps) output; `none` = [n, d] as is.
 */
export type Pooling = 'cls' | 'mean' | 'gap' | 'none';

export interface OutputSpec {
  name: string;
  pooling: Pooling;
  /** Tokens before the patch tokens (CLS, distillation, registers); `mean` skips them. Default 1. */
  prefixTokens?: number;
}

/** A model on the Hugging Face hub, in transformers.js layout (`<repo>/onnx/model.onnx`). */
export interface HubSource {
  kind: 'hub';
  repo: string;
  file: string;
  revision?: string;
  /** How to make the ONNX file when the repo has none (shown when the hub answers 404). */
  exportHint?: string;
}

interface CardCommon {
  id: string;
  summary: string;
  /** Other names users may type (`dino` → `dino-vits16`). */
  aliases?: string[];
  weights: string;
  params: string;
  input: InputSpec;
  preprocess: Preprocess;
  /** Feature dimension; checked against the model's output when given. */
  featureDim?: number;
}

/** A Keras layers model bundled in the nsfwjs npm package, converted to ONNX at a tap. */
export interface KerasCard extends CardCommon {
  source: { kind: 'nsfwjs'; model: string };
  /** Feature layer ("tap"), chosen by measurement (bench/tap-sweep.ts); --layer picks another. */
  tap: string;
  pooling: 'gap';
  featureDim: number;
  /** Other taps worth sweeping, in network order. */
  altTaps: string[];
}

/** An ONNX model (from the hub or a local file) whose `output` holds the features. */
export interface OnnxCard extends CardCommon {
  source: HubSource | { kind: 'file'; path: string };
  output: OutputSpec;
  /** CLIP-style text tower next to the image tower (same repo), used by zero-shot. */
  text?: { file: string; output: string; contextLength: number };
}

/** A backbone as plain data: timm-style card. Code branches on these fields, never on model names. */
export type Card = KerasCard | OnnxCard;

/** A ready-to-run backbone: a card, a resolved feature layer and a runtime. */
export interface Backbone {
  card: Card;
  /** Where features come from, e.g. `block_13_expand_relu` or `last_hidden_state[cls]`. */
  tap: string;
  /** Human-readable runtime that runs it, e.g. `onnxruntime-node 1.30.0 (cpu)`. */
  runtime: string;
  /** Identity of the weights (file, size, mtime or package version): part of the feature-cache key. */
  weights: string;
  /** Things the user should know, e.g. a device fallback. */
  warnings?: string[];
  /** A batch in the card's layout ([n, h, w, 3] or [n, 3, h, w]) → [n, featureDim] features. */
  embed(batch: Float32Array, n: number): Promise<Matrix>;
  dispose(): Promise<void>;
}

export const isKerasCard = (c: Card): c is KerasCard => c.source.kind === 'nsfwjs';

/** What a card's features are called in tables and results. */
export function featureName(c: Card): string {
  return isKerasCard(c) ? c.tap : `${c.output.name}[${c.output.pooling}]`;
}
