import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { ConfigError, fsError } from '../errors.ts';
import { firstIssue, OnnxCardSchema, withResizeDefault } from './card-schema.ts';
import type { OnnxCard } from './types.ts';

/** A card a user writes for their own ONNX model (`--backbone model.onnx --card card.json`), checked by the cards' one schema. */
export function parseCardFile(doc: unknown, modelPath: string, where = 'the card'): OnnxCard {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where} must be a JSON object (keys: input, preprocess, output, ...).`);
  if ('source' in doc) throw new ConfigError(`Invalid "source" in ${where}: the model file comes from --backbone; leave "source" out.`);
  const withSource = { id: basename(modelPath, extname(modelPath)), ...doc, source: { kind: 'file', path: resolve(modelPath) } };
  const parsed = OnnxCardSchema.safeParse(withSource);
  if (!parsed.success) {
    const { key, message } = firstIssue(parsed.error);
    throw new ConfigError(`Invalid ${key ? `"${key}" in ` : ''}${where}: ${message}.`);
  }
  return withResizeDefault(parsed.data);
}

export async function loadCardFile(cardPath: string, modelPath: string): Promise<OnnxCard> {
  const text = await readFile(cardPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fsError(err, `Cannot read card file "${cardPath}"`, 'Pass --card with the card JSON of the model (see docs/backbones.md).');
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Card file "${cardPath}" is not valid JSON: ${(err as Error).message}`);
  }
  return parseCardFile(doc, modelPath, cardPath);
}
