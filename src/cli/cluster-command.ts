import type { Argv } from 'yargs';
import { ClusterJobSchema } from '../jobs/job-schema.ts';
import { getMethod } from '../jobs/methods.ts';
import { runCells } from '../jobs/run-cells.ts';
import { clusterDetailTable, clusterRankTable, seedSummaryTable } from '../report/table.ts';
import { cellEvents, cellJob, jobFlags, methodFlags, parseJob, runSeeds } from './cell-job.ts';
import type { Command } from './command.ts';

const D = ClusterJobSchema.parse({});
/** Results of `reprobe cluster`, in --results-dir. */
const CLUSTER_RESULTS_FILE = 'cluster.jsonl';
const CLUSTER = getMethod('cluster');

function clusterOptions(y: Argv) {
  return methodFlags(jobFlags(y, D, CLUSTER_RESULTS_FILE), CLUSTER.flags, D)
    .epilog(
      "The study's clustering: each backbone's features (the probes' cache), UMAP, then k-means with k = the number of classes, scored by " +
        'adjusted Rand index (and NMI) against the labels; k-means on the features themselves is the baseline row. A general dataset is ' +
        'clustered whole (train, val and test of its split together); WILDS datasets per official test set (ID, OOD). Seeded: the same ' +
        '--seed gives the same embedding, clusters and ARI.',
    )
    .example('$0 cluster -b mobilenet-v2,inception-v3 -d ucmerced --data-root ../shared/data', 'backbones ranked by ARI on UC Merced')
    .example('$0 cluster -b mobilenet-v2 -d mnist --dims 10 --metric cosine', 'a 10-d cosine UMAP of MNIST features');
}

async function cluster(argv: Record<string, unknown>): Promise<void> {
  const job = await parseJob(argv, ClusterJobSchema, {}, CLUSTER.flags);
  const { records, resultsPath, runIds } = await runSeeds(job, (seed) => runCells(cellJob({ ...job, seed }, [CLUSTER, getMethod('kmeans')], CLUSTER_RESULTS_FILE), cellEvents({ ...job, seed })));
  const runId = runIds.join(', ');
  // What was clamped (neighbours or k above the points) is a warning here as well as a field of the record.
  for (const r of records) if (typeof r.note === 'string') process.stderr.write(`reprobe: warning: ${r.backbone} ${r.method} (${r.eval_split}): ${r.note}\n`);
  const seeds = seedSummaryTable(records);
  process.stdout.write(`\n${clusterDetailTable(records)}\n\n${seeds ? `${seeds}\n\n` : ''}${clusterRankTable(records.filter((r) => r.method === CLUSTER.name))}\n\nresults in the store, and its view ${resultsPath} (run ${runId})\n`);
}

export const clusterCommand: Command = {
  name: 'cluster',
  register: (y) => y.command('cluster', 'cluster each backbone\'s features (UMAP, then k-means) and rank the backbones by adjusted Rand index', clusterOptions, cluster),
};
