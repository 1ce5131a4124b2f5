import type { Matrix } from '../util/matrix.ts';
import type { SessionOptions } from '../util/ort.ts';
import { openTextTower } from './text-tower.ts';
import type { OnnxCard } from './types.ts';

/** What zero-shot needs of a CLIP-style text side: prompts → embeddings, and the scale of its logits. */
export interface TextEncoder {
  embed(prompts: readonly string[]): Promise<Matrix>;
  /** CLIP's learned temperature, exp(logit_scale): 100 for the OpenAI models. */
  logitScale: number;
  /** What tokenized the prompts (for the record). */
  tokenizer: string;
  dispose(): Promise<void>;
}

/** Anything that turns a prompt into token ids (start and end tokens included, cut to the context). */
export interface PromptTokenizer {
  encode(text: string): number[];
  /** Names the vocabulary (a hash of its files), for records. */
  id: string;
}

/** Prompts per text-tower run: the tower is small next to the image tower, and prompt lists are long (80 x classes). */
const BATCH = 64;

/** The card's text tower with a tokenizer, embedding prompts in batches. */
export async function openTextEncoder(card: OnnxCard, tokenizer: PromptTokenizer, opt: SessionOptions = {}): Promise<TextEncoder> {
  const tower = await openTextTower(card, opt);
  return {
    async embed(prompts) {
      const parts: Matrix[] = [];
      for (let i = 0; i < prompts.length; i += BATCH) parts.push(await tower.embed(prompts.slice(i, i + BATCH).map((p) => tokenizer.encode(p))));
      const cols = parts[0]?.cols ?? 0;
      const data = new Float32Array(prompts.length * cols);
      let off = 0;
      for (const p of parts) {
        data.set(p.data, off);
        off += p.data.length;
      }
      return { rows: prompts.length, cols, data };
    },
    logitScale: card.text?.logitScale ?? 100,
    tokenizer: tokenizer.id,
    dispose: () => tower.dispose(),
  };
}
