import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { readCsv } from '../data/csv.ts';
import { ConfigError, DataError, printable } from '../errors.ts';
import { cellPredictions, recordOfCell } from '../results/cell-lookup.ts';
import { problemLine, readStore } from '../results/job-store.ts';
import type { CellRecord } from '../results/record.ts';
import { alignPredictions, comparePair, compareText, type PredictionRow } from '../report/compare.ts';
import type { Command } from './command.ts';

/** A predictions file: JSON lines (`.jsonl`) or CSV, each row `id`, `true`, `pred` and optionally `group`. */
async function readPredictions(path: string): Promise<PredictionRow[]> {
  if (statSync(path).isDirectory()) throw new DataError(`${path} is a folder: compare takes two predictions files (id,true,pred), or two cell ids of a results folder given with --results DIR.`);
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

/** A store cell's predictions as rows (class names), and what to call it: `clip lr_10 on ucmerced (test, seed 0, cell 3f2a9c1d)`. */
async function cellRows(prefix: string, resultsDir: string, store: { records?: CellRecord[] }): Promise<{ name: string; rows: PredictionRow[]; dataset: string }> {
  if (!store.records) {
    const read = await readStore(resultsDir);
    for (const p of read.problems) process.stderr.write(`warning: ${problemLine(p)}\n`);
    store.records = read.records;
  }
  const r = recordOfCell(store.records, prefix, resultsDir);
  const doc = await cellPredictions(r, resultsDir);
  if (doc.kind !== 'predictions') throw new ConfigError(`Cell ${r.cell_id} is a clustering (${r.backbone} ${r.method} on ${r.dataset}); compare takes classifiers' predictions.`);
  const rows = doc.ids.map((id, i) => ({ id, true: doc.classes[doc.truth[i]], pred: doc.classes[doc.pred[i]] }));
  return { name: `${r.backbone} ${r.method}_${r.shots} on ${r.dataset} (${r.eval_split}, seed ${r.seed}, cell ${r.cell_id.slice(0, 8)})`, rows, dataset: `${r.dataset} ${String(r.dataset_digest ?? '')}` };
}

async function compare(argv: Record<string, unknown>): Promise<void> {
  const resamples = Number(argv.resamples);
  if (!Number.isInteger(resamples) || resamples < 1) throw new ConfigError(`--resamples ${String(argv.resamples)}: a whole number of 1 or more, e.g. --resamples 1000.`);
  const results = String(argv.results);
  const store: { records?: CellRecord[] } = {};
  // A path that exists is a predictions file; anything else names a cell of the store (its cell_id or first characters).
  const side = async (arg: string) => (existsSync(arg) ? { name: arg, rows: await readPredictions(arg) } : cellRows(arg, results, store));
  const [a, b] = [await side(String(argv.a)), await side(String(argv.b))];
  // Two cells of two datasets can share image ids (0.png in both): the same ids are not the same images.
  if ('dataset' in a && 'dataset' in b && a.dataset !== b.dataset) throw new DataError(`A and B are cells of two datasets (${a.dataset.trim()} and ${b.dataset.trim()}): compare needs the same test images.`);
  // Names hold dataset paths and backbones as typed: control characters are shown escaped, not sent to the terminal.
  const names: [string, string] = [printable(a.name), printable(b.name)];
  const aligned = alignPredictions(a.rows, b.rows, names);
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
          .positional('a', { type: 'string', demandOption: true, describe: 'A: a predictions file (CSV or .jsonl with id, true, pred; group: worst-group accuracy), or a cell id (or its first characters) of the --results store' })
          .positional('b', { type: 'string', demandOption: true, describe: 'B: the same, on the same test images' })
          .option('results', { alias: 'results-dir', type: 'string', default: 'results', describe: 'the results folder whose cells A and B may name (its records/ and predictions/)' })
          .option('resamples', { type: 'number', default: 1000, describe: 'bootstrap resamples (the same images for A and B in each)' })
          .option('seed', { type: 'number', default: 0, describe: 'seed of the resamples' })
          .epilog('A and B are each a file that exists or a store cell (the newest record of the cell its id or prefix names; `reprobe results predictions CELL` prints the same predictions). Images are matched by id and must be the same set; the true labels must agree. Prints the discordant counts with the exact two-sided p, and per metric (accuracy, macro-F1, worst-group accuracy when a group column is there) A, B and A − B with its percentile interval.')
          .example('$0 compare runs/clip.csv runs/dino.csv', 'is CLIP better than DINO on these images?')
          .example('$0 compare 3f2a9c1d 8e01b7c4 --results results', 'two cells of the store, by their cell ids (or unique prefixes)'),
      compare,
    ),
};
