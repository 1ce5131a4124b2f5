import type { z } from 'zod';
import type { KerasCardSchema, OnnxCardSchema, PreprocessSchema } from './card-schema.ts';
import type { Matrix } from '../util/matrix.ts';

export type Preprocess = z.output<typeof PreprocessSchema>;
export type Interpolation = Preprocess['interpolation'];
export type OnnxCard = z.output<typeof OnnxCardSchema>;
export type KerasCard = z.output<typeof KerasCardSchema>;
export type OutputSpec = OnnxCard['output'];
export type HubSource = Extract<OnnxCard['source'], { kind: 'hub' }>;

/** A backbone as plain data: timm-style card (schemas in card-schema.ts). Code branches on these fields, never on model names. */
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
