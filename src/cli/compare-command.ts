import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { readCsv } from '../data/csv.ts';
import { ConfigError, DataError } from '../errors.ts';
import { alignPredictions, comparePair, compareText, type PredictionRow } from '../report/compare.ts';
import type { Command } from './command.ts';

/** A predictions file: JSON lines (`.jsonl`) or CSV, each row `id`, `true`, `pred` and optionally `group`. */
async function readPredictions(path: string): Promise<PredictionRow[]> {
  let rows: Record<string, unknown>[];
  if (/\.jsonl$/i.test(path)) {
    const text = await readFile(path, 'utf8').catch(() => {
      throw new DataError(`Cannot read "${path}".`);
    });
    rows = text.split('\n').filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new DataError(`${path}: line ${i + 1} is not JSON.`);
      }
    });
  } else rows = await readCsv(path);
  return rows.map((r, i) => {
    for (const k of ['id', 'true', 'pred']) if (r[k] === undefined || r[k] === '') throw new DataError(`${path}: row ${i + 1} has no "${k}"; each row needs id, true, pred (and group for worst-group accuracy).`);
    return { id: String(r.id), true: String(r.true), pred: String(r.pred), ...(r.group === undefined ? {} : { group: String(r.group) }) };
  });
}

async function compare(argv: Record<string, unknown>): Promise<void> {
  const names: [string, string] = [String(argv.a), String(argv.b)];
  const resamples = Number(argv.resamples);
  if (!Number.isInteger(resamples) || resamples < 1) throw new ConfigError(`--resamples ${String(argv.resamples)}: a whole number of 1 or more, e.g. --resamples 1000.`);
  const aligned = alignPredictions(await readPredictions(names[0]), await readPredictions(names[1]), names);
  process.stdout.write(`${compareText(comparePair(aligned, resamples, Number(argv.seed)), names)}\n`);
}

export const compareCommand: Command = {
  name: 'compare',
  register: (y) =>
    y.command(
      'compare <a> <b>',
      "two classifiers on the same test images: McNemar's exact test and a paired bootstrap of A − B",
      (c: Argv) =>
        c
          .positional('a', { type: 'string', demandOption: true, describe: 'predictions of A: CSV or .jsonl with id, true, pred (group: worst-group accuracy)' })
          .positional('b', { type: 'string', demandOption: true, describe: 'predictions of B, the same image ids' })
          .option('resamples', { type: 'number', default: 1000, describe: 'bootstrap resamples (the same images for A and B in each)' })
          .option('seed', { type: 'number', default: 0, describe: 'seed of the resamples' })
          .epilog('Images are matched by id; the true labels must agree. Prints the discordant counts with the exact two-sided p, and per metric (accuracy, macro-F1, worst-group accuracy when a group column is there) A, B and A − B with its percentile interval.')
          .example('$0 compare runs/clip.csv runs/dino.csv', 'is CLIP better than DINO on these images?'),
      compare,
    ),
};
