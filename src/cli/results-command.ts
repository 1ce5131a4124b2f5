import { join } from 'node:path';
import type { Argv } from 'yargs';
import { ConfigError } from '../errors.ts';
import { mergeStore, RECORDS_DIR, storedJobs } from '../results/job-store.ts';
import type { Command } from './command.ts';

function resultsOptions(y: Argv) {
  return y
    .positional('action', { choices: ['merge'] as const, describe: 'merge: every record of the store as one JSONL file' })
    .positional('dir', { type: 'string', default: 'results', describe: 'results folder (its records/ is the store)' })
    .option('out', { alias: 'o', type: 'string', describe: 'the merged file [default: <dir>/merged.jsonl]' })
    .example('$0 results merge results', 'results/merged.jsonl, for pandas.read_json(..., lines=True)');
}

async function results(argv: Record<string, unknown>): Promise<void> {
  const dir = argv.dir as string;
  if ((await storedJobs(dir)).size === 0) throw new ConfigError(`No records in ${join(dir, RECORDS_DIR)}; run probe, finetune, cluster or sweep with --results-dir ${dir} first.`);
  const out = (argv.out as string | undefined) ?? join(dir, 'merged.jsonl');
  const n = await mergeStore(dir, out);
  process.stdout.write(`${n} records from ${join(dir, RECORDS_DIR)} → ${out}\n`);
}

export const resultsCommand: Command = {
  name: 'results',
  register: (y) => y.command('results <action> [dir]', "work with a results store: merge the per-job record files into one JSONL", resultsOptions, results),
};
