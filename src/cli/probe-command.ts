import type { Argv } from 'yargs';
import { JOB_DEFAULTS, ProbeJobSchema } from '../jobs/job-schema.ts';
import { getMethod } from '../jobs/methods.ts';
import { runCells } from '../jobs/run-cells.ts';
import { PROBES } from '../probes/registry.ts';
import { confusedPairsTables, detailTable, seedSummaryTable, studyTable } from '../report/table.ts';
import { listOf } from '../util/options.ts';
import { cellEvents, cellJob, dflt, jobFlags, methodFlags, parseJob, runSeeds } from './cell-job.ts';
import type { Command } from './command.ts';

const D = JOB_DEFAULTS;
/** Results of `reprobe probe`, in --results-dir. */
const PROBE_RESULTS_FILE = 'probe.jsonl';

/** Every probe's own flags, keyed by job key. */
const PROBE_FLAGS = Object.fromEntries([...PROBES.keys()].flatMap((name) => Object.entries(getMethod(name).flags)));

function probeOptions(y: Argv) {
  const o = jobFlags(y, D, PROBE_RESULTS_FILE).option('probe', {
    type: 'string',
    describe: `probes to run: ${[...PROBES.values()].map((p) => `${p.name} (${p.summary})`).join('; ')}` + dflt(D.probes),
  });
  return methodFlags(o, PROBE_FLAGS, D)
    .epilog(
      'Bad input stops the run with one line, never a silent number: NaN/Inf features, fewer than 2 training classes, a val/test class ' +
        "without training images, an empty test split. k above the training-set size is clamped (the record's chosen.k is the k used). " +
        'Images that cannot be read are listed and never drawn: if the first draw picked one for train or val, the split is drawn again without them. ' +
        'A backbone or probe listed twice runs once.',
    )
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'kNN and logistic-regression probes on 10 digits per class')
    .example('$0 probe -b mobilenet-v2,inception-v3 -d folder:./photos -k 5', 'compare two backbones on your own image folders')
    .example('$0 probe --config configs/probe-mnist.yaml --seed 1', 'a job from YAML, with one flag overridden')
    .example('$0 probe -b mobilenet-v2 -d mnist -k 10 --seeds 0,1,2', 'three splits and fits: mean ± std with n')
    .example('$0 probe -b mobilenet-v2 -d ucmerced --data-root ../shared/data --protocol study -k 10', "the study's exact 147:42:1071 UC Merced split")
    .example('$0 probe -b dino -d folder:./photos -k 10', 'a study backbone (downloaded from the hub on first use, then cached)')
    .example('$0 probe -b clip -d fruits360 -k 10 --top-pairs 5', 'Fruits 360 (its Training/Test split), with the 5 class pairs most mistaken for each other')
    .example('$0 probe -b model.onnx --card configs/cards/mobilenetv2-12-int8.json -d mnist', 'your own ONNX model, described by a card');
}

async function probe(argv: Record<string, unknown>): Promise<void> {
  const job = await parseJob(argv, ProbeJobSchema, { probes: argv.probe === undefined ? undefined : listOf(argv.probe) }, PROBE_FLAGS, { probes: 'probe' });
  const { records, resultsPath, runIds } = await runSeeds(job, (seed) => runCells(cellJob({ ...job, seed }, job.probes.map(getMethod), PROBE_RESULTS_FILE), cellEvents({ ...job, seed })));
  const pairs = confusedPairsTables(records);
  const seeds = seedSummaryTable(records);
  process.stdout.write(
    `\n${detailTable(records)}\n\n${seeds ? `${seeds}\n\n` : `${studyTable(records)}\n\n`}${pairs ? `${pairs}\n\n` : ''}results in the store, and its view ${resultsPath} (run ${runIds.join(', ')})\n`,
  );
}

export const probeCommand: Command = {
  name: 'probe',
  register: (y) => y.command('probe', 'extract features with one or more backbones and score kNN and logistic-regression probes', probeOptions, probe),
};
