import { join } from 'node:path';
import type { Argv } from 'yargs';
import { ConfigError, DataError } from '../errors.ts';
import { problemLine, readStore, RECORDS_DIR, writeView } from '../results/job-store.ts';
import { cellPredictions, recordOfCell } from '../results/cell-lookup.ts';
import { predictionsCsv } from '../results/predictions.ts';
import { checkOutputPath } from '../util/output-path.ts';
import type { Command } from './command.ts';

function resultsOptions(y: Argv) {
  return y
    .positional('action', { choices: ['merge', 'predictions'] as const, describe: 'merge: every record of the store as one JSONL file; predictions: a cell\'s per-image predictions as CSV' })
    .positional('target', { type: 'string', describe: 'merge: the results folder [default: results]; predictions: the cell id (or its start) of a record' })
    .option('results-dir', { type: 'string', default: 'results', describe: 'the results folder (predictions)' })
    .option('out', { alias: 'o', type: 'string', describe: 'the merged file [default: <dir>/merged.jsonl]' })
    .example('$0 results merge results', 'results/merged.jsonl, for pandas.read_json(..., lines=True)')
    .example('$0 results predictions 3f2a9c1d', "the newest record of that cell: id,true,pred,top1,top1_score,… (clustering: id,true,cluster)");
}

/** The merged view of the valid records; any line refused makes the command fail, naming the files, after writing it. */
async function merge(dir: string, out: string): Promise<void> {
  const { records, problems } = await readStore(dir);
  if (!records.length && !problems.length) throw new ConfigError(`No records in ${join(dir, RECORDS_DIR)}; run probe, finetune, cluster or sweep with --results-dir ${dir} first.`);
  if (!out.trim()) throw new ConfigError('--out is empty: name the merged file, e.g. -o merged.jsonl.', '--out');
  // The store's folders are read back (records as jobs' records, splits and predictions as the records' provenance): a merged file never goes there.
  checkOutputPath(out, '--out', {
    folders: [
      { path: join(dir, RECORDS_DIR), what: 'the store\'s records folder: every file there is read as a job\'s records, so the next merge would count each record twice' },
      ...['splits', 'predictions', 'runs'].map((f) => ({ path: join(dir, f), what: `the store's ${f} folder, which the records name as their provenance` })),
    ],
  });
  const { count } = await writeView(dir, out);
  for (const p of problems) process.stderr.write(`warning: ${problemLine(p)}\n`);
  process.stdout.write(`${count} records from ${join(dir, RECORDS_DIR)} → ${out}\n`);
  if (problems.length) {
    const files = [...new Set(problems.map((p) => p.file))];
    throw new DataError(`${files.length} record file${files.length > 1 ? 's' : ''} refused in part or whole (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}): ${out} lacks their records. Rerun the sweep (it runs such jobs again) or remove the files.`);
  }
}

/** The newest record whose cell id starts with `cell` (one cell only), its predictions file as CSV on stdout. */
async function predictions(dir: string, cell: string | undefined): Promise<void> {
  if (!cell) throw new ConfigError('results predictions: name a cell (a record\'s cell_id, or its first characters).');
  const { records, problems } = await readStore(dir);
  for (const p of problems) process.stderr.write(`warning: ${problemLine(p)}\n`);
  // To a terminal, names with their control characters escaped; to a pipe or file, the data as it is.
  process.stdout.write(predictionsCsv(await cellPredictions(recordOfCell(records, cell, dir), dir), process.stdout.isTTY === true));
}

async function results(argv: Record<string, unknown>): Promise<void> {
  const target = argv.target as string | undefined;
  if (argv.action === 'predictions') return predictions(argv['results-dir'] as string, target);
  const dir = target ?? 'results';
  return merge(dir, (argv.out as string | undefined) ?? join(dir, 'merged.jsonl'));
}

export const resultsCommand: Command = {
  name: 'results',
  register: (y) => y.command('results <action> [target]', 'work with a results store: merge its records into one JSONL, or print a cell\'s predictions as CSV', resultsOptions, results),
};
