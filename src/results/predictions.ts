import { csvField } from '../util/csv-field.ts';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { fsError, printable } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { Assignments, Predictions } from '../method/predictions.ts';

/**
 * The file beside a record (results/predictions/<cell id>.<run id>.json): columnar, one array per column rather than
 * an object per image, so 10 000 test images are one small file. `kind` tells predictions from cluster assignments.
 */
const PredictionsFile = z.discriminatedUnion('kind', [
  z.object({ version: z.literal(1), kind: z.literal('predictions'), classes: z.array(z.string()), ids: z.array(z.string()), truth: z.array(z.number().int()), pred: z.array(z.number().int()), k: z.number().int().positive(), top_classes: z.array(z.number().int()), top_scores: z.array(z.number().nullable()) }),
  z.object({ version: z.literal(1), kind: z.literal('clusters'), classes: z.array(z.string()), ids: z.array(z.string()), truth: z.array(z.number().int()), cluster: z.array(z.number().int()) }),
]);
export type PredictionsDoc = z.infer<typeof PredictionsFile>;

export const PREDICTIONS_DIR = 'predictions';

/** Write a record's predictions (or cluster assignments) beside the store, atomically; the path the record names. */
export async function writePredictions(resultsDir: string, name: string, classes: readonly string[], p: Predictions | Assignments): Promise<string> {
  const doc: PredictionsDoc =
    'cluster' in p
      ? { version: 1, kind: 'clusters', classes: [...classes], ids: p.ids, truth: Array.from(p.truth), cluster: Array.from(p.cluster) }
      : { version: 1, kind: 'predictions', classes: [...classes], ids: p.ids, truth: Array.from(p.truth), pred: Array.from(p.pred), k: p.k, top_classes: Array.from(p.topClasses), top_scores: Array.from(p.topScores, (s) => (Number.isFinite(s) ? s : null)) };
  const path = join(resultsDir, PREDICTIONS_DIR, `${name}.json`);
  try {
    await writeFileAtomic(path, JSON.stringify(doc));
  } catch (err) {
    throw fsError(err, `Cannot write predictions in ${resultsDir}`, 'Pass --results-dir with a writable folder.');
  }
  return path;
}

/** Where a record's predictions file is now: the path it names, else the same name in this store (a results folder moved since). */
export function predictionsPath(named: string, resultsDir: string): string {
  return existsSync(named) ? named : join(resultsDir, PREDICTIONS_DIR, basename(named));
}

/** A predictions file, checked. */
export async function readPredictions(path: string): Promise<PredictionsDoc> {
  const text = await readFile(path, 'utf8').catch((err: unknown) => Promise.reject(fsError(err, `Cannot read the predictions file ${path}`, 'Run the cell again to write it.')));
  return PredictionsFile.parse(JSON.parse(text));
}

/**
 * A predictions file as CSV: `id,true,pred,top1,top1_score,…` with class names (clusters: `id,true,cluster`). For a
 * terminal (`shown`), ids and names have their control characters escaped (an escape sequence in a class name would
 * drive the terminal); as a file they stay the data.
 */
export function predictionsCsv(doc: PredictionsDoc, shown = false): string {
  const text = (s: string) => csvField(shown ? printable(s) : s);
  const name = (c: number) => text(doc.classes[c] ?? String(c));
  if (doc.kind === 'clusters') return ['id,true,cluster', ...doc.ids.map((id, i) => `${text(id)},${name(doc.truth[i])},${doc.cluster[i]}`)].join('\n') + '\n';
  const top = Array.from({ length: doc.k }, (_, j) => `top${j + 1},top${j + 1}_score`).join(',');
  const rows = doc.ids.map((id, i) => {
    const tops = Array.from({ length: doc.k }, (_, j) => `${name(doc.top_classes[i * doc.k + j])},${doc.top_scores[i * doc.k + j] ?? ''}`).join(',');
    return `${text(id)},${name(doc.truth[i])},${name(doc.pred[i])},${tops}`;
  });
  return [`id,true,pred,${top}`, ...rows].join('\n') + '\n';
}
