import type { Card } from '../types.ts';
import { EMBEDDED_CARDS } from './embedded.ts';
import { STUDY_CARDS } from './study.ts';

/** Every named backbone: the embedded ones first (they run offline), then the study's hub models. */
export const CARDS: readonly Card[] = [...EMBEDDED_CARDS, ...STUDY_CARDS];

/** A copy of the card named `id` or one of its aliases, so callers cannot change the registry. */
export function findCard(id: string): Card | undefined {
  const c = CARDS.find((x) => x.id === id || x.aliases?.includes(id));
  return c && structuredClone(c);
}
