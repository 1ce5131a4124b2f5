import { CardSchema, firstIssue, withResizeDefault } from '../card-schema.ts';
import type { Card } from '../types.ts';
import { EMBEDDED_CARDS } from './embedded.ts';
import { STUDY_CARDS } from './study.ts';

/** Every named backbone, checked by the same schema as user cards: the embedded ones first (they run offline), then the study's hub models. */
export const CARDS: readonly Card[] = [...EMBEDDED_CARDS, ...STUDY_CARDS].map((c) => {
  const parsed = CardSchema.safeParse(c);
  if (!parsed.success) {
    const { key, message } = firstIssue(parsed.error);
    throw new Error(`built-in card ${c.id}: "${key}" ${message}`);
  }
  return withResizeDefault(parsed.data);
});

/** A copy of the card named `id` or one of its aliases, so callers cannot change the registry. */
export function findCard(id: string): Card | undefined {
  const c = CARDS.find((x) => x.id === id || x.aliases?.includes(id));
  return c && structuredClone(c);
}
