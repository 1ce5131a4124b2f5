import type { Argv } from 'yargs';
import { FinetuneJobSchema } from '../jobs/job-schema.ts';
import { getMethod, withPresentation } from '../jobs/methods.ts';
import { runCells } from '../jobs/run-cells.ts';
import type { CellRecord } from '../results/record.ts';
import { readStore } from '../results/job-store.ts';
import { confusedPairsTables, seedSummaryTable, studyTable, trainingTable } from '../report/table.ts';
import { cellEvents, cellJob, jobFlags, methodFlags, parseJob, runSeeds } from './cell-job.ts';
import type { Command } from './command.ts';

const D = FinetuneJobSchema.parse({});
/** Results of `reprobe finetune`, in --results-dir. */
const FINETUNE_RESULTS_FILE = 'finetune.jsonl';
const FINETUNE = getMethod('finetune');

function finetuneOptions(y: Argv) {
  const o = jobFlags(y, D, FINETUNE_RESULTS_FILE).option('resume', {
    type: 'boolean',
    describe: "continue a killed run from its last epoch's checkpoint (results/runs/<id>/), to the same result as an uninterrupted run",
  });
  return methodFlags(o, FINETUNE.flags, D)
    .epilog(
      "Defaults are the study's protocol: Adam, learning rate 1e-5, batch 16, no augmentation, early stopping after 30 epochs without a lower " +
        'validation loss, the best epoch restored, then each test set scored (WILDS: ID and OOD, with their official metrics). ' +
        'The frozen part runs once on onnxruntime and its activations are cached like features, so head and last:N train only what changes. ' +
        'Each epoch is a line of results/runs/<id>/epochs.jsonl; the records go to finetune.jsonl.',
    )
    .example('$0 finetune -b mobilenet-v2 -d mnist -k 10 --train last:2', 'the last two blocks and a head, on 10 digits per class')
    .example('$0 finetune -b mobilenet-v2 -d ucmerced --data-root ../shared/data --protocol study -k 10 --train last:2', "the study's UC Merced 10-shot split")
    .example('$0 finetune -b inception-v3 -d folder:./photos -k 20 --train head --learning-rate 1e-3', 'a linear head on frozen features, faster learning rate')
    .example('$0 finetune -b mobilenet-v2 -d mnist -k 10 --train head --top-pairs 3', 'a head, then the 3 digit pairs it mistakes most for each other')
    .example('$0 finetune ... --resume', 'continue the same run after a kill');
}

async function finetune(argv: Record<string, unknown>): Promise<void> {
  const job = await parseJob(argv, FinetuneJobSchema, { resume: argv.resume }, FINETUNE.flags);
  const { records, resultsPath, runIds } = await runSeeds(job, (seed) => runCells(cellJob({ ...job, seed }, [FINETUNE], FINETUNE_RESULTS_FILE, job.resume), cellEvents({ ...job, seed })));
  const runId = runIds.join(', ');
  // The probes of the same split, backbone and layer, from the store (problems there were reported when the view was written).
  const probes = latest(withPresentation((await readStore(job.resultsDir)).records).filter((p) => p.task === 'probe' && records.some((r) => r.split_hash === p.split_hash && r.backbone === p.backbone && r.layer === p.layer)));
  const pairs = confusedPairsTables(records);
  const seeds = seedSummaryTable(records);
  process.stdout.write(`\n${trainingTable(records)}\n\n${seeds ? `${seeds}\n\n` : ''}${studyTable([...records, ...probes])}\n\n${pairs ? `${pairs}\n\n` : ''}results in the store, and its view ${resultsPath} (run ${runId})\n`);
}

/** The newest record per (backbone, method, evaluated set). */
function latest(records: readonly CellRecord[]): CellRecord[] {
  const by = new Map<string, CellRecord>();
  for (const r of records) by.set(`${r.backbone}\0${r.method}\0${r.eval_split}`, r);
  return [...by.values()];
}

export const finetuneCommand: Command = {
  name: 'finetune',
  register: (y) => y.command('finetune', 'fine-tune a backbone (a head, its last N blocks, or all) with early stopping, and score the test sets', finetuneOptions, finetune),
};
