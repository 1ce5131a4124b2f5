import type { Argv } from 'yargs';
import { z } from 'zod';
import { JOB_SHAPE, type SharedJob } from '../jobs/job-schema.ts';
import { runCells } from '../jobs/run-cells.ts';
import type { Method } from '../method/contract.ts';
import { confusedPairsTables, detailTable, seedSummaryTable, studyTable } from '../report/table.ts';
import { cellEvents, cellJob, jobFlags, methodFlags, parseJob, runSeeds } from './cell-job.ts';
import type { Command } from './command.ts';

/**
 * The command of methods that name one no bespoke file implements (commands.ts): the shared job flags and the
 * methods' own, built from their option specs; it runs them on every backbone and prints the records' tables. A new
 * method thus gets `reprobe <its command>` from its folder and its registry line alone.
 */
export function methodCommand(name: string, methods: readonly Method[]): Command {
  const flags = Object.assign({}, ...methods.map((m) => m.flags)) as Method['flags'];
  const schema = z.object({ ...JOB_SHAPE, ...(Object.assign({}, ...methods.map((m) => m.options)) as z.ZodRawShape) });
  const defaults = schema.parse({}) as Record<string, unknown>;
  const file = `${name}.jsonl`;
  const options = (y: Argv) =>
    methodFlags(jobFlags(y, defaults, file), flags, defaults).example(`$0 ${name} -b mobilenet-v2 -d mnist -k 10`, `${methods.map((m) => m.name).join(' and ')} on 10 digits per class`);
  async function handler(argv: Record<string, unknown>): Promise<void> {
    const job = (await parseJob(argv, schema, {}, flags)) as SharedJob & Record<string, unknown>;
    const { records, resultsPath, runIds } = await runSeeds(job, (seed) => runCells(cellJob({ ...job, seed }, methods, file), cellEvents({ ...job, seed })));
    const seeds = seedSummaryTable(records);
    const pairs = confusedPairsTables(records);
    process.stdout.write(`\n${detailTable(records)}\n\n${seeds ? `${seeds}\n\n` : `${studyTable(records)}\n\n`}${pairs ? `${pairs}\n\n` : ''}results in the store, and its view ${resultsPath} (run ${runIds.join(', ')})\n`);
  }
  return { name, register: (y) => y.command(name, methods.map((m) => m.summary).join('; '), options, handler) };
}
