import { createHash } from 'node:crypto';
import { vstack, type Matrix } from '../util/matrix.ts';
import type { SessionOptions } from '../runtime/ort.ts';
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

/**
 * Prompt lists embedded in this process, by tower, tokenizer and prompts: zero-shot and PRO, and each shot level of a
 * k-shot curve, build the same class weights (80 templates x every class runs the text tower thousands of times).
 */
const embedded = new Map<string, Promise<Matrix>>();

/** The card's text tower with a tokenizer, embedding prompts in batches. */
export async function openTextEncoder(card: OnnxCard, tokenizer: PromptTokenizer, opt: SessionOptions = {}): Promise<TextEncoder> {
  const tower = await openTextTower(card, opt);
  const run = async (prompts: readonly string[]) => {
    const parts: Matrix[] = [];
    for (let i = 0; i < prompts.length; i += BATCH) parts.push(await tower.embed(prompts.slice(i, i + BATCH).map((p) => tokenizer.encode(p))));
    return vstack(parts);
  };
  return {
    embed(prompts) {
      const key = createHash('sha256').update(JSON.stringify([card.source, card.text?.file, tokenizer.id, prompts])).digest('hex');
      let m = embedded.get(key);
      if (!m) {
        m = run(prompts);
        embedded.set(key, m);
        m.catch(() => embedded.delete(key));
      }
      return m;
    },
    logitScale: card.text?.logitScale ?? 100,
    tokenizer: tokenizer.id,
    dispose: () => tower.dispose(),
  };
}
