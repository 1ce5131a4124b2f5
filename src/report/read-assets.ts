import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLine } from '../errors.ts';
import { predictionsPath, readPredictions } from '../results/predictions.ts';
import type { CellRecord } from '../results/record.ts';
import type { EpochPoint } from './charts.ts';
import type { Assets, Loaded } from './sections.ts';

/** epochs.jsonl (one EpochLog a line) → the epochs with finite numbers; other lines are skipped. */
export function parseCurve(text: string): EpochPoint[] {
  const out: EpochPoint[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const l = JSON.parse(line) as Partial<EpochPoint>;
      const p = { epoch: Number(l.epoch), train_loss: Number(l.train_loss), val_loss: Number(l.val_loss), val_accuracy: Number(l.val_accuracy) };
      if (Object.values(p).every(Number.isFinite)) out.push(p);
    } catch {
      /* a line that is not JSON is not an epoch */
    }
  }
  return out;
}

/**
 * Where a file a record names is now: the path as written (relative to where that run started), else the same
 * `runs/…` path inside this results folder (the store was moved, or the report runs from elsewhere).
 */
function candidates(path: string, resultsDir: string): string[] {
  const at = path.lastIndexOf('runs/');
  return [...new Set([path, ...(at >= 0 ? [join(resultsDir, path.slice(at))] : [])])];
}

/** A file a record names (a path relative to where its run started, or moved with the results folder), parsed. */
export async function load<T>(path: string, resultsDir: string, parse: (text: string) => T): Promise<Loaded<T>> {
  for (const p of candidates(path, resultsDir)) {
    const text = await readFile(p, 'utf8').catch(() => undefined);
    if (text !== undefined) return { value: parse(text) };
  }
  return { error: `${path} is missing` };
}

/** Read the files the records name: each fine-tuning run's curve, each clustering plot's SVG (beside its PNG), each record's predictions. */
export async function readAssets(records: readonly CellRecord[], resultsDir: string): Promise<Assets> {
  const assets: Assets = { curves: new Map(), svgs: new Map(), predictions: new Map() };
  for (const r of records) {
    if (typeof r.predictions === 'string' && !assets.predictions.has(r.predictions)) {
      const path = predictionsPath(r.predictions, resultsDir);
      assets.predictions.set(r.predictions, await readPredictions(path).then((value) => ({ value }), (err: unknown) => ({ error: firstLine(err) })));
    }
    if (typeof r.curve === 'string' && !assets.curves.has(r.curve)) assets.curves.set(r.curve, await load(r.curve, resultsDir, parseCurve));
    if (typeof r.plot === 'string' && !assets.svgs.has(r.plot)) assets.svgs.set(r.plot, await load(r.plot.replace(/\.png$/i, '.svg'), resultsDir, (t) => t));
  }
  return assets;
}
