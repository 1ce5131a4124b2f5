import { openTextEncoder, type TextEncoder } from '../backbones/text-encoder.ts';
import { openTokenizer } from '../backbones/tokenizer-files.ts';
import { isKerasCard, type Card } from '../backbones/types.ts';
import type { SessionOptions } from '../runtime/ort.ts';

/**
 * A cell's text side for a card with a text tower: opened on first use (per tokenizer folder), closed once the
 * backbone's methods are done. Cards without one give no provider: zero-shot says so in one line.
 */
export function cellText(card: Card, session: SessionOptions): { text?: (opt: { tokenizer?: string }) => Promise<TextEncoder>; close(): Promise<void> } {
  if (isKerasCard(card) || !card.text) return { close: async () => undefined };
  const opened = new Map<string, Promise<TextEncoder>>();
  return {
    text: (opt) => {
      const key = opt.tokenizer ?? '';
      let enc = opened.get(key);
      if (!enc) {
        enc = openTokenizer(card, { dir: opt.tokenizer }).then((tok) => openTextEncoder(card, tok, session));
        opened.set(key, enc);
      }
      return enc;
    },
    async close() {
      for (const enc of opened.values()) await (await enc.catch(() => undefined))?.dispose();
      opened.clear();
    },
  };
}
