import type { Matrix } from '../util/matrix.ts';

/** How an image becomes the model's input tensor (transformers.js order: RGB → resize → rescale → normalize → layout). */
export interface Preprocess {
  /** `stretch`: resize to exactly the input size, ignoring aspect ratio (what nsfwjs does). */
  resize: 'stretch';
  interpolation: 'bilinear' | 'bicubic' | 'nearest';
  /** Multiplies 0..255 pixels, e.g. 1/255. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** A backbone as plain data: timm-style card. Code branches on these fields, never on model names. */
export interface Card {
  id: string;
  summary: string;
  /** Where the weights come from; `nsfwjs` = a layers model bundled in the nsfwjs npm package. */
  source: { kind: 'nsfwjs'; model: string };
  weights: string;
  params: string;
  input: { height: number; width: number; channels: 3; layout: 'NHWC' };
  preprocess: Preprocess;
  /** Feature layer ("tap"), chosen by measurement (bench/tap-sweep.ts); --layer picks another. */
  tap: string;
  /** `gap`: global average pooling over space of a 4-D tap. */
  pooling: 'gap';
  /** Feature dimension at `tap`. */
  featureDim: number;
  /** Other taps worth sweeping, in network order. */
  altTaps: string[];
}

/** A ready-to-run backbone: a card, a resolved tap and a runtime. */
export interface Backbone {
  card: Card;
  tap: string;
  /** Human-readable runtime that runs it, e.g. `onnxruntime-node 1.30.0 (cpu)`. */
  runtime: string;
  /** [n, h, w, c] batch in the card's layout → [n, featureDim] features. */
  embed(batch: Float32Array, n: number): Promise<Matrix>;
  dispose(): Promise<void>;
}
