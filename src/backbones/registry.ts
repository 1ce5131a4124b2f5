import { ConfigError, unknownName } from '../errors.ts';
import { CARDS, findCard } from './cards.ts';
import { openKerasBackbone, type OpenOptions } from './keras-backbone.ts';
import type { Backbone, Card } from './types.ts';

export function backboneNames(): string[] {
  return CARDS.map((c) => c.id);
}

/** Card by the name users type; one clear error listing the known names otherwise. */
export function resolveCard(name: string): Card {
  const card = findCard(name);
  if (!card) throw new ConfigError(unknownName('backbone', name, backboneNames(), 'Run `reprobe models list`.'));
  return card;
}

/** Name → ready backbone on the best runtime. */
export async function openBackbone(name: string, opt: OpenOptions): Promise<Backbone> {
  const card = resolveCard(name);
  switch (card.source.kind) {
    case 'nsfwjs':
      return openKerasBackbone(card, opt);
  }
}
