import type { Argv } from 'yargs';
import { isModelPath, resolveCard } from '../backbones/registry.ts';
import { isKerasCard } from '../backbones/types.ts';
import { ConfigError } from '../errors.ts';
import { ZeroshotJobSchema } from '../jobs/job-schema.ts';
import { getMethod } from '../jobs/methods.ts';
import { runCells } from '../jobs/run-cells.ts';
import type { CellRecord } from '../results/record.ts';
import { confusedPairsTables, detailTable, kshotTable, seedSummaryTable } from '../report/table.ts';
import { listOf } from '../util/options.ts';
import { cellEvents, cellJob, jobFlags, methodFlags, parseJob } from './cell-job.ts';
import type { Command } from './command.ts';

const D = ZeroshotJobSchema.parse({});
/** Results of `reprobe zeroshot`, in --results-dir. */
const ZEROSHOT_RESULTS_FILE = 'zeroshot.jsonl';
const ZS = getMethod('zeroshot');
const PRO = getMethod('pro');
const LR = getMethod('lr');

function zeroshotOptions(y: Argv) {
  const o = jobFlags(y, { ...D, backbones: ['clip-vit-b32'], shots: '0' }, ZEROSHOT_RESULTS_FILE)
    .option('shots', { alias: 'k', type: 'string', describe: 'shot levels of the k-shot curve, comma-separated: 0 is zero-shot alone (every image tested) [default: 0]' })
    .option('heads', { type: 'string', describe: 'heads trained at each shot level above 0: lite (the LR probe on the image embeddings), pro (the cosine head from the text embeddings) [default: lite,pro]' });
  return methodFlags(methodFlags(o, PRO.flags, D), LR.flags, D)
    .epilog(
      "CLIP zero-shot (CLIP_benchmark's protocol): each class's prompts (templates x readable class names) through the text tower, " +
        'L2-normalised, averaged and normalised again; images scored by cosine x the logit scale. Metrics: top-1 (the headline), top-5, ' +
        'top-1 − 1/N, mean per-class recall, per-class recall. With --shots 0,1,2,4,...: at each level above 0, LITE (a linear head on the ' +
        'frozen image embeddings) and PRO (a cosine head started from the text embeddings, so zero-shot at step 0, then trained) on the same split.',
    )
    .example('$0 zeroshot -b clip-vit-b32 -d ucmerced --data-root ../shared/data', "zero-shot with the dataset's prompts (satellite photos)")
    .example('$0 zeroshot -b clip -d dtd --templates imagenet', "CLIP's 80-prompt ensemble")
    .example('$0 zeroshot -b clip -d fruits360 --shots 0,1,2,4,8,16 --top-pairs 10', 'the LITE vs PRO k-shot curve, and the 10 most confused pairs');
}

async function zeroshot(argv: Record<string, unknown>): Promise<void> {
  const levels = argv.shots === undefined ? undefined : listOf(argv.shots).map(Number);
  const heads = argv.heads === undefined ? undefined : listOf(argv.heads);
  const job = await parseJob({ ...argv, shots: undefined }, ZeroshotJobSchema, { shotLevels: levels, heads, ...(argv.backbone === undefined && argv.config === undefined ? { backbones: ['clip-vit-b32'] } : {}) }, { ...PRO.flags, ...LR.flags }, { shotLevels: 'shots' });
  if (job.protocol === 'study' && job.shotLevels.includes(0)) throw new ConfigError('--protocol study has no 0-shot split; pass --shots 10 (or its other levels), or use --protocol shots for zero-shot.');
  // Before any extraction: every backbone needs a text tower.
  for (const b of job.backbones) {
    if (isModelPath(b)) continue;
    const card = resolveCard(b);
    if (isKerasCard(card) || !card.text) throw new ConfigError(`${card.id} has no text tower; zero-shot and PRO need one (clip-vit-b32).`);
  }
  const records: CellRecord[] = [];
  let last = '';
  for (const [s, seed] of (job.seeds ?? [job.seed]).entries()) {
    for (const [i, k] of [...job.shotLevels].sort((a, b) => a - b).entries()) {
      // Zero-shot once (at the lowest level: with 0 every image is tested, the same for every seed); the heads at every level above 0.
      const zeroShot = i === 0 && (k > 0 || s === 0);
      const methods = [...(zeroShot ? [ZS] : []), ...(k > 0 && job.heads.includes('lite') ? [LR] : []), ...(k > 0 && job.heads.includes('pro') ? [PRO] : [])];
      if (methods.length === 0) continue;
      const r = await runCells(cellJob({ ...job, shots: k, seed }, methods, ZEROSHOT_RESULTS_FILE), cellEvents({ ...job, seed }));
      records.push(...r.records);
      last = r.resultsPath;
    }
  }
  const pairs = confusedPairsTables(records);
  const seeds = seedSummaryTable(records);
  process.stdout.write(`\n${detailTable(records)}\n\n${seeds ? `${seeds}\n\n` : ''}${kshotTable(records)}\n\n${pairs ? `${pairs}\n\n` : ''}results in the store, and its view ${last}\n`);
}

export const zeroshotCommand: Command = {
  name: 'zeroshot',
  register: (y) => y.command('zeroshot', 'CLIP zero-shot classification from prompts, and the LITE vs PRO k-shot curve', zeroshotOptions, zeroshot),
};
