import { isKerasCard, type Card } from './types.ts';

/**
 * The card for the quantized file (`--backbone <file> --card <card>`, user-card JSON: no `source`): the float model's
 * input, preprocessing and features; a Keras backbone's graph pools its tap inside, so its output is read as is.
 */
export function quantizedCard(card: Card, io: { input: string; output: string }, how: string): Record<string, unknown> {
  const common = { id: `${card.id}-int8`, summary: `${card.summary}; ${how}`, weights: `${card.weights}; ${how}`, params: card.params, preprocess: card.preprocess, ...(card.featureDim ? { featureDim: card.featureDim } : {}) };
  if (isKerasCard(card)) return { ...common, input: { ...card.input, name: io.input }, output: { name: io.output, pooling: 'none' } };
  return { ...common, input: card.input, output: card.output };
}
