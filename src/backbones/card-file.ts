import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { OnnxCard } from './types.ts';

const rgb = z.tuple([z.number(), z.number(), z.number()]);

/** A card a user writes for their own ONNX model (`--backbone model.onnx --card card.json`); defaults fill the rest. */
export const CardFileSchema = z
  .object({
    id: z.string().min(1).optional(),
    summary: z.string().default('custom ONNX model'),
    weights: z.string().default('unknown'),
    params: z.string().default('?'),
    input: z.object({
      name: z.string().optional(),
      height: z.number().int().min(1),
      width: z.number().int().min(1),
      channels: z.literal(3).default(3),
      layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    }),
    preprocess: z
      .object({
        resize: z.enum(['stretch', 'shorter']).default('shorter'),
        resizeTo: z.number().int().min(1).optional(),
        interpolation: z.enum(['bilinear', 'bicubic', 'nearest']).default('bilinear'),
        scale: z.number().positive().default(1 / 255),
        mean: rgb.default([0.485, 0.456, 0.406]),
        std: rgb.refine((s) => s.every((v) => v > 0), 'std must be > 0').default([0.229, 0.224, 0.225]),
      })
      .default({ resize: 'shorter', interpolation: 'bilinear', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
    output: z.object({
      name: z.string().min(1),
      pooling: z.enum(['cls', 'mean', 'gap', 'none']).default('none'),
      prefixTokens: z.number().int().min(0).optional(),
    }),
    featureDim: z.number().int().min(1).optional(),
  })
  .strict();

/** Parse a card object for the ONNX file at `modelPath`; a ConfigError names the first bad key. */
export function parseCardFile(doc: unknown, modelPath: string, where = 'the card'): OnnxCard {
  const parsed = CardFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = [...issue.path, ...((issue as { keys?: string[] }).keys ?? [])].join('.');
    throw new ConfigError(`Invalid ${key ? `"${key}" in ` : ''}${where}: ${issue.message}.`);
  }
  const c = parsed.data;
  const resizeTo = c.preprocess.resize === 'shorter' ? (c.preprocess.resizeTo ?? Math.min(c.input.height, c.input.width)) : undefined;
  return {
    ...c,
    id: c.id ?? basename(modelPath, extname(modelPath)),
    source: { kind: 'file', path: resolve(modelPath) },
    preprocess: { ...c.preprocess, ...(resizeTo ? { resizeTo } : {}) },
  };
}

export async function loadCardFile(cardPath: string, modelPath: string): Promise<OnnxCard> {
  const text = await readFile(cardPath, 'utf8').catch(() => {
    throw new ConfigError(`Cannot read card file "${cardPath}".`);
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Card file "${cardPath}" is not valid JSON: ${(err as Error).message}`);
  }
  return parseCardFile(doc, modelPath, cardPath);
}
