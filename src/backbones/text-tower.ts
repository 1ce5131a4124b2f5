import { readFile } from 'node:fs/promises';
import { BackboneError, ConfigError } from '../errors.ts';
import type { Matrix } from '../util/matrix.ts';
import { openOnnx, type Feed, type SessionOptions } from '../runtime/ort.ts';
import { embeddingRows } from './onnx-vocab.ts';
import { fetchModel } from './registry.ts';
import type { OnnxCard } from './types.ts';

/** A CLIP-style text tower: token ids (already tokenized) → [n, d] text embeddings. */
export interface TextTower {
  embed(ids: readonly (readonly number[])[]): Promise<Matrix>;
  dispose(): Promise<void>;
}

/** Open the text tower of a card that has one; ids are truncated to its context length and padded with `padId`. */
export async function openTextTower(card: OnnxCard, opt: SessionOptions & { padId?: number } = {}): Promise<TextTower> {
  if (!card.text) throw new ConfigError(`${card.id} has no text tower.`);
  const { text } = await fetchModel(card);
  if (!text) throw new BackboneError(`${card.id}: the text tower file is missing.`);
  const session = await openOnnx(text, opt);
  const spec = card.text;
  if (!session.outputNames.includes(spec.output)) {
    await session.dispose();
    throw new BackboneError(`${text} has no output "${spec.output}"; its outputs: ${session.outputNames.join(', ')}.`);
  }
  const hasMask = session.inputs.some((v) => v.name === 'attention_mask');
  const vocab = embeddingRows(await readFile(text));
  return {
    async embed(ids) {
      // An id past the embedding table fails inside onnxruntime (a Gather, a native log): refused here, in one line.
      const bad = vocab === undefined ? undefined : ids.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
      if (bad !== undefined) throw new BackboneError(`token id ${bad} is not in the text tower's vocabulary of ${vocab} (ids 0 to ${vocab! - 1}); the tokenizer is not this tower's (check --tokenizer or the token ids given).`);
      const len = Math.min(spec.contextLength, Math.max(1, ...ids.map((t) => t.length)));
      const data = new BigInt64Array(ids.length * len).fill(BigInt(opt.padId ?? 0));
      const mask = new BigInt64Array(ids.length * len);
      ids.forEach((t, i) => t.slice(0, len).forEach((id, j) => ((data[i * len + j] = BigInt(id)), (mask[i * len + j] = 1n))));
      const feeds: Record<string, Feed> = { input_ids: { type: 'int64', data, dims: [ids.length, len] } };
      if (hasMask) feeds.attention_mask = { type: 'int64', data: mask, dims: [ids.length, len] };
      const [out] = await session.runRaw(feeds, [spec.output]);
      return { data: out.data, rows: out.dims[0], cols: out.data.length / out.dims[0] };
    },
    dispose: () => session.dispose(),
  };
}
