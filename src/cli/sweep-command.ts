import type { Argv } from 'yargs';
import { ConfigError, printable, ReprobeError } from '../errors.ts';
import { parseShard, shardFromEnv, type Shard } from '../jobs/shard.ts';
import { runSweep, shardJobs, sweepStatus } from '../jobs/sweep.ts';
import { checkSweep, type SweepJob } from '../jobs/sweep-schema.ts';
import { formatTable } from '../report/table.ts';
import { listOf } from '../util/options.ts';
import { assertDevice } from '../runtime/ort.ts';
import { MAX_SEED } from '../util/rng.ts';
import { cellEvents, readJobFile } from './cell-job.ts';
import type { Command } from './command.ts';

function sweepOptions(y: Argv) {
  return y
    .positional('file', { type: 'string', describe: 'sweep file (YAML): backbones, datasets, shots, seeds, methods; see configs/quick.yaml' })
    .option('dry-run', { type: 'boolean', describe: 'list the jobs (this shard\'s, with --shard) and their count; run nothing' })
    .option('status', { type: 'boolean', describe: 'show how many jobs are done, failed, running and pending, and the failures' })
    .option('shard', { type: 'string', describe: 'run the i-th of n shares of the jobs, i/n from 0 [default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX]' })
    .option('shards', { type: 'number', describe: "n for a Kubernetes Indexed Job's JOB_COMPLETION_INDEX [default: $REPROBE_SHARDS]" })
    .option('results-dir', { type: 'string', describe: "overrides the file's resultsDir: the store (records/), splits and runs" })
    .option('data-root', { type: 'string', describe: "overrides the file's dataRoot" })
    .option('seeds', { type: 'string', describe: "overrides the file's seeds, comma-separated" })
    .epilog(
      'Expands the grid backbones x datasets x shots x seeds x methods into jobs with stable ids (a hash of each job\'s ' +
        'configuration). A job whose records are in the store is skipped, so a killed sweep reruns only what is missing; ' +
        'a failing job is written to <results>/failed/ and the sweep goes on. Any number of processes, on any number of ' +
        'hosts sharing the results folder, can run one sweep: each job is claimed by one. Records: one file per job in ' +
        '<results>/records/; `reprobe results merge` joins them, `reprobe report` renders the tables.',
    )
    .example('$0 sweep configs/quick.yaml', 'the quick grid, offline, on the embedded backbones')
    .example('$0 sweep configs/study.yaml --dry-run', "the study's whole grid: its jobs and their count")
    .example('sbatch --array=0-3 configs/cluster/sweep.sbatch configs/quick.yaml', 'four SLURM array tasks, one share each');
}

/** --seeds overrides the file's: checked here, so a bad one is reported as the flag's, not the file's. */
function checkSeeds(texts: string[]): number[] {
  const bad = texts.find((t) => !/^\d+$/.test(t) || Number(t) > MAX_SEED);
  if (bad !== undefined || !texts.length) throw new ConfigError(`"${bad ?? ''}" is not a seed; give integers 0 to ${MAX_SEED}, comma-separated.`, '--seeds');
  return texts.map(Number);
}

const describeJob = (j: SweepJob) => `${j.backbone} ${j.dataset} ${j.shots}-shot seed ${j.seed} ${j.method}`;

async function sweep(argv: Record<string, unknown>): Promise<void> {
  const file = argv.file as string;
  const doc = { ...(await readJobFile(file)) };
  if (argv['results-dir'] !== undefined) doc.resultsDir = argv['results-dir'];
  if (argv['data-root'] !== undefined) doc.dataRoot = argv['data-root'];
  if (argv.seeds !== undefined) doc.seeds = checkSeeds(listOf(argv.seeds));
  const { sweep: s, jobs, warnings } = checkSweep(doc, file);
  for (const w of warnings) process.stderr.write(`reprobe: warning: ${printable(w)}\n`);
  // strictDevice with device cuda: one line before any job, rather than every job failing alike.
  if (!argv['dry-run'] && !argv.status) await assertDevice({ device: s.device, strict: s.strictDevice });
  const shard: Shard | undefined = argv.shard !== undefined ? parseShard(String(argv.shard)) : shardFromEnv(process.env, argv.shards as number | undefined);
  const mine = shardJobs(jobs, shard);
  const share = shard ? ` (shard ${shard.index}/${shard.count}: ${mine.length})` : '';
  if (argv['dry-run']) {
    process.stdout.write(`${formatTable(['job', 'backbone', 'dataset', 'shots', 'seed', 'method'], mine.map((j) => [j.id, j.backbone, j.dataset, j.shots, j.seed, j.method]))}\n\n${jobs.length} jobs${share}\n`);
    return;
  }
  if (argv.status) {
    const states = await sweepStatus(s, mine);
    const count = (st: string) => states.filter((x) => x.state === st).length;
    for (const f of states.filter((x) => x.state === 'failed')) process.stdout.write(printable(`failed ${f.job.id} ${describeJob(f.job)}: ${f.error}`) + '\n');
    for (const f of states.filter((x) => x.state === 'invalid')) process.stdout.write(printable(`invalid ${f.job.id} ${describeJob(f.job)}: ${f.error}; the next run runs it again`) + '\n');
    for (const f of states.filter((x) => x.state === 'stale')) process.stdout.write(printable(`stale ${f.job.id} ${describeJob(f.job)}: ${f.error}; the next run runs it again`) + '\n');
    const invalid = (count('invalid') ? `, ${count('invalid')} invalid` : '') + (count('stale') ? `, ${count('stale')} stale` : '');
    process.stdout.write(`${jobs.length} jobs${share}: ${count('done')} done${invalid}, ${count('failed')} failed, ${count('running')} running, ${count('pending')} pending\n`);
    return;
  }
  const t0 = performance.now();
  const events = cellEvents({ protocol: s.protocol, seed: 0 });
  const tally = await runSweep(s, jobs, {
    shard,
    events: {
      ...events,
      onDataset: undefined,
      onExtractStep: (backbone, dataset, state) => process.stderr.write(printable(`extract ${backbone} on ${dataset}${share}: ${state}`) + '\n'),
      onJob: (job, what, i, n, error) => {
        if (what === 'start') process.stderr.write(printable(`[${i}/${n}] ${job.id} ${describeJob(job)}`) + '\n');
        else if (what === 'failed') process.stderr.write(printable(`[${i}/${n}] ${job.id} failed: ${error}`) + '\n');
        else if (what === 'busy') process.stderr.write(`[${i}/${n}] ${job.id} is being run by another process\n`);
      },
    },
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  process.stdout.write(`${jobs.length} jobs${share}: ${tally.done} run, ${tally.skipped} already in the store, ${tally.busy} left to other processes, ${tally.failed} failed (${secs} s); records in ${s.resultsDir}/records\n`);
  if (tally.failed > 0) throw new ReprobeError(`${tally.failed} job(s) failed; see \`reprobe sweep ${file} --status\` (rerun to retry them).`);
}

export const sweepCommand: Command = {
  name: 'sweep',
  register: (y) => y.command('sweep <file>', 'run a grid of jobs from a YAML sweep file (resumable; shards for SLURM array and Kubernetes Indexed Jobs)', sweepOptions, sweep),
};
