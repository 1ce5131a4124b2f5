import { matrix } from '../util/matrix.ts';
import type { Backbone, Card } from './types.ts';

/**
 * The identity "backbone": a card's preprocessed images, flattened. Fine-tuning a whole network starts from these;
 * as a Backbone they go through the extraction pipeline (decode workers, the cache) like any features.
 */
export function pixelsBackbone(card: Card): Backbone {
  const per = card.input.height * card.input.width * 3;
  return {
    card,
    tap: `pixels[${card.input.layout}]`,
    runtime: 'preprocessing only',
    weights: 'none',
    embed: async (batch, n) => matrix(n, per, batch.slice(0, n * per)),
    dispose: async () => undefined,
  };
}
