import type { Argv } from 'yargs';
import { clearCache, featuresDir, isPending, listCache } from '../features/cache.ts';
import { runExtractJob } from '../jobs/extract-job.ts';
import { DEVICES, ExtractRunSchema, JOB_DEFAULTS, RUNTIMES } from '../jobs/job-schema.ts';
import { parseShard, shardFromEnv, type Shard } from '../jobs/shard.ts';
import { ConfigError, printable } from '../errors.ts';
import { formatTable } from '../report/table.ts';
import { assertDevice } from '../runtime/ort.ts';
import type { Command } from './command.ts';
import { progressBar } from './progress.ts';

const D = JOB_DEFAULTS;

function extractOptions(y: Argv) {
  return y
    .option('backbone', { alias: 'b', type: 'string', demandOption: true, describe: 'backbone name from `reprobe models list`, or a model.onnx path with --card' })
    .option('dataset', { alias: 'd', type: 'string', demandOption: true, describe: 'a name from `reprobe datasets list`, folder:<path> or csv:<file>' })
    .option('data-root', { type: 'string', describe: 'folder holding the study datasets [default: $REPROBE_DATA, else ~/.cache/reprobe/data]' })
    .option('split', { type: 'string', describe: 'one set of the dataset (pool, train, val, id_test, test, ...) [default: every image]' })
    .option('out', { alias: 'o', type: 'string', describe: 'also write <out>.npy (float32 [n, d]), <out>.labels.npy (int32) and <out>.json (ids, classes, skipped)' })
    .option('cache', { type: 'boolean', default: true, describe: 'reuse and keep features in $REPROBE_HOME/features (--no-cache bypasses it)' })
    .option('card', { type: 'string', describe: 'card JSON for a --backbone given as a model.onnx path' })
    .option('layer', { type: 'string', describe: "feature layer instead of the card's tap (Keras backbones)" })
    .option('runtime', { choices: RUNTIMES, default: D.runtime, describe: 'auto = onnxruntime, tfjs as fallback for the embedded Keras models' })
    .option('batch-size', { type: 'number', default: D.batchSize, describe: 'images per inference batch' })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads [default: all cores]' })
    .option('device', { choices: DEVICES, default: D.device, describe: 'onnxruntime execution provider' })
    .option('strict', { alias: 'require-device', type: 'boolean', default: D.strictDevice, describe: 'with --device cuda: fail when CUDA cannot be used instead of falling back to the CPU' })
    .option('shard', {
      type: 'string',
      describe:
        'task i of n (0 <= i < n): embed only the cache chunks c with c % n == i; the task that finds every chunk done joins them (and writes -o). Run every task with the same --batch-size [default: SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT, less SLURM_ARRAY_TASK_MIN; or JOB_COMPLETION_INDEX of --shards; 0/1 runs it all]',
    })
    .option('shards', { type: 'number', describe: "number of tasks of a Kubernetes Indexed Job (its completions; JOB_COMPLETION_INDEX is this task's) [default: $REPROBE_SHARDS]" })
    .example('$0 extract -b mobilenet-v2 -d mnist -o mnist-mobilenet', 'features of all 10,000 digits as mnist-mobilenet.npy (+ .labels.npy, .json)')
    .example('$0 extract -b dino -d ucmerced --split pool --data-root ./data', "the study's UC Merced pool; rerun after a kill to resume")
    .example('SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=4 $0 extract -b mobilenet-v2 -d mnist --shard 0/4', 'task 0 of 4 (in an sbatch --array=0-3 job SLURM sets these and --shard can be left out); the last task to finish joins the entry')
    .epilog('In Python: numpy.load("mnist-mobilenet.npy"), numpy.load("mnist-mobilenet.labels.npy").');
}

type ExtractArgs = Awaited<ReturnType<typeof extractOptions>['argv']>;

async function extract(a: ExtractArgs): Promise<void> {
  const run = ExtractRunSchema.safeParse({ batchSize: a['batch-size'], threads: a.threads, runtime: a.runtime, device: a.device, strictDevice: a.strict });
  if (!run.success) {
    const issue = run.error.issues[0];
    throw new ConfigError(`Invalid --${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}.`);
  }
  await assertDevice({ device: run.data.device, strict: run.data.strictDevice }); // before any download or extraction
  const shard = resolveShard(a);
  let bar: ReturnType<typeof progressBar> | undefined;
  const r = await runExtractJob(
    {
      backbone: a.backbone,
      dataset: a.dataset,
      dataRoot: a['data-root'],
      split: a.split,
      out: a.out,
      cache: a.cache,
      batchSize: run.data.batchSize,
      shard: shard && { index: shard.index, count: shard.count },
      open: { runtime: run.data.runtime, threads: run.data.threads, device: run.data.device, strict: run.data.strictDevice, card: a.card, layer: a.layer },
    },
    {
      onDownload: (file, bytes, total) => {
        bar ??= progressBar(`download ${file}`, { unit: 'MB', scale: 1e-6 });
        bar.update(bytes, total ?? bytes);
      },
      onStart: (n, runtime, layer) => {
        bar?.stop();
        process.stderr.write(printable(`${a.backbone} @ ${layer} on ${runtime}: ${n} images${shard ? `, shard ${shard.index}/${shard.count}` : ''}`) + '\n');
        bar = progressBar(`extract ${a.backbone}`);
      },
      onProgress: (done, total) => bar?.update(done, total),
      onCacheInvalid: (reason) => process.stderr.write(`cache entry not used, extracting again: ${reason}\n`),
    },
  );
  bar?.stop();
  if (isPending(r)) {
    const out = a.out ? ', and writes -o' : '';
    const from = shard!.from ? ` (shard from ${shard!.from}; --shard 0/1 does it all in one task)` : '';
    process.stdout.write(`shard ${shard!.index}/${shard!.count}: ${r.done} of ${r.total} chunks done; another task joins them${out} (or rerun any shard once all are done)${from}\n`);
    return;
  }
  const lines = [
    `${r.rows} x ${r.cols} features ${r.fromCache ? 'read from the cache' : `extracted at ${r.imagesPerSecond.toFixed(1)} images/s`}${r.cachePath ? ` (${r.cachePath})` : ''}`,
    ...(r.skipped.length ? [`skipped ${r.skipped.length} unreadable image(s): ${r.skipped.slice(0, 3).map((s) => `${s.id} (${s.reason})`).join('; ')}${r.skipped.length > 3 ? '; …' : ''}`] : []),
    ...r.written.map((w) => `wrote ${w}`),
  ];
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}

/** --shard i/n, else what the scheduler's environment says (SLURM array, Kubernetes Indexed Job with --shards). */
function resolveShard(a: ExtractArgs): (Shard & { from?: string }) | undefined {
  if (a.shard !== undefined) {
    if (a.shards !== undefined) throw new ConfigError('Give --shard i/n, or --shards N with JOB_COMPLETION_INDEX set, not both.');
    return parseShard(a.shard);
  }
  // Without the cache there is nothing to share: a scheduler's task variables are left alone then.
  if (!a.cache && a.shards === undefined) return undefined;
  const env = shardFromEnv(process.env, a.shards);
  if (env) process.stderr.write(`shard ${env.index}/${env.count} from ${env.from}\n`);
  return env;
}

async function cache(action: 'list' | 'clear', keys: string[], all: boolean): Promise<void> {
  if (action === 'list' && (keys.length || all)) throw new ConfigError(`\`reprobe cache list\` takes no keys (got ${keys.join(' ') || '--all'}); \`reprobe cache clear KEY\` removes one.`);
  if (action === 'clear') {
    // Removing every entry is said, never inferred from keys that did not arrive (`-- KEY`, `--keys KEY`).
    if (keys.length && all) throw new ConfigError('`reprobe cache clear`: give keys or --all, not both.');
    if (!keys.length && !all) throw new ConfigError('`reprobe cache clear`: name the entries to remove (`reprobe cache clear KEY...`, keys from `reprobe cache list`), or pass --all to remove every entry.');
    const removed = await clearCache(all ? [] : keys);
    process.stdout.write(`removed ${removed.length} cache entr${removed.length === 1 ? 'y' : 'ies'} from ${featuresDir()}\n`);
    return;
  }
  const rows = (await listCache()).map((e) => [
    e.key,
    e.state,
    e.side?.backbone ?? '?',
    e.side?.dataset ?? '?',
    e.side ? `${e.side.rows}x${e.side.cols}` : '?',
    Math.round(e.bytes / 1e5) / 10,
    e.side?.created?.slice(0, 19) ?? '',
  ]);
  process.stdout.write(`${formatTable(['key', 'state', 'backbone', 'dataset', 'shape', 'MB', 'created'], rows)}\n\n${featuresDir()}; \`reprobe cache clear [KEY...]\` removes entries\n`);
}

export const extractCommand: Command = {
  name: 'extract',
  register: (y) => y.command('extract', 'extract features of a dataset (cached, resumable) and optionally export them as .npy for Python', extractOptions, extract),
};

export const cacheCommand: Command = {
  name: 'cache',
  register: (y) =>
    y.command(
      'cache <action> [keys..]',
      'list the cached feature matrices (list) or remove them (clear KEY..., each a whole key or a prefix of exactly one; clear --all removes all)',
      (c) =>
        c
          .positional('action', { choices: ['list', 'clear'] as const, demandOption: true })
          .positional('keys', { type: 'string', array: true })
          .option('all', { type: 'boolean', default: false, describe: 'clear: remove every entry' })
          .example('$0 cache list', 'key, state (done or partial), backbone, dataset, shape, size')
          .example('$0 cache clear 3fa2c1', 'remove the entry whose key starts with 3fa2c1 (refused if several do)')
          .example('$0 cache clear --all', 'remove every entry'),
      (a) => cache(a.action, [a.keys ?? []].flat().map(String), a.all),
    ),
};
