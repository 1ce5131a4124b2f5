import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.ts';
import { DEVICES, JOB_DEFAULTS, ProbeJobSchema, RUNTIMES, type ProbeJob } from '../jobs/job-schema.ts';
import { getMethod } from '../jobs/methods.ts';
import { runCells } from '../jobs/run-cells.ts';
import { PROBES } from '../probes/registry.ts';
import { detailTable, studyTable } from '../report/table.ts';
import { flagValue, listOf } from '../util/options.ts';
import type { Command } from './command.ts';
import { progressBar } from './progress.ts';

const D = JOB_DEFAULTS;
const dflt = (v: unknown) => ` [default: ${Array.isArray(v) ? v.join(',') : v}]`;
/** Results of `reprobe probe`, in --results-dir. */
const PROBE_RESULTS_FILE = 'probe.jsonl';

/** Every probe's own flags (built from the registry: a new probe brings its flags with it), keyed by job key. */
const METHOD_FLAGS = Object.fromEntries([...PROBES.keys()].flatMap((name) => Object.entries(getMethod(name).flags)));

/** Flags carry no yargs defaults: the schema is the one home of defaults, shown here in the help text. */
function probeOptions(y: Argv) {
  let o = y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML file with the job (keys as in configs/probe-mnist.yaml); flags override it' })
    .option('backbone', { alias: 'b', type: 'string', describe: 'backbone name(s) from `reprobe models list`, comma-separated for a side-by-side table, or a model.onnx path with --card' + dflt(D.backbones) })
    .option('dataset', { alias: 'd', type: 'string', describe: 'a name from `reprobe datasets list`: mnist, ucmerced, dtd, ..., folder:<path>, csv:<file>' + dflt(D.dataset) })
    .option('data-root', { type: 'string', describe: 'folder holding the study datasets [default: $REPROBE_DATA, else ~/.cache/reprobe/data]' })
    .option('protocol', { choices: ['shots', 'study'] as const, describe: "shots = k training images per class; study = the study's split table for --shots 10/100/1000 (configs/splits/study.yaml)" + dflt(D.protocol) })
    .option('shots', { alias: 'k', type: 'number', describe: "training images per class, or the study's shot level with --protocol study" + dflt(D.shots) })
    .option('val-per-class', { type: 'number', describe: 'validation images per class [default: about 0.3 x shots]' })
    .option('test-per-class', { type: 'number', describe: 'test images per class [default: all the rest]' })
    .option('seed', { type: 'number', describe: 'seed of the split, 0 to 4294967295; same seed, same split and numbers' + dflt(D.seed) })
    .option('probe', { type: 'string', describe: `probes to run: ${[...PROBES.values()].map((p) => `${p.name} (${p.summary})`).join('; ')}` + dflt(D.probes) });
  for (const [key, f] of Object.entries(METHOD_FLAGS)) {
    const describe = f.describe + dflt((D as Record<string, unknown>)[key]);
    o = typeof f.cli === 'object' ? o.option(f.flag, { choices: f.cli.choices, describe }) : o.option(f.flag, { type: 'string', describe });
  }
  return o
    .option('layer', { type: 'string', describe: "feature layer instead of the card's tap (see `reprobe models layers NAME`)" })
    .option('runtime', { choices: RUNTIMES, describe: 'auto = onnxruntime on a converted graph, tfjs as fallback' + dflt(D.runtime) })
    .option('batch-size', { type: 'number', describe: 'images per inference batch' + dflt(D.batchSize) })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads [default: all cores]' })
    .option('device', { choices: DEVICES, describe: 'onnxruntime execution provider (cuda falls back to cpu when not installed)' + dflt(D.device) })
    .option('card', { type: 'string', describe: 'card JSON for a --backbone given as a model.onnx path (see configs/cards/)' })
    .option('cache', { type: 'boolean', describe: 'reuse and keep features in $REPROBE_HOME/features (--no-cache bypasses it)' + dflt(D.cache) })
    .option('results-dir', { type: 'string', describe: `where ${PROBE_RESULTS_FILE} is appended and results/splits/ written` + dflt(D.resultsDir) })
    .epilog(
      'Bad input stops the run with one line, never a silent number: NaN/Inf features, fewer than 2 training classes, a val/test class ' +
        "without training images, an empty test split. k above the training-set size is clamped (the record's chosen.k is the k used). " +
        'Images that cannot be read are listed and never drawn: if the first draw picked one for train or val, the split is drawn again without them. ' +
        'A backbone or probe listed twice runs once.',
    )
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'kNN and logistic-regression probes on 10 digits per class')
    .example('$0 probe -b mobilenet-v2,inception-v3 -d folder:./photos -k 5', 'compare two backbones on your own image folders')
    .example('$0 probe --config configs/probe-mnist.yaml --seed 1', 'a job from YAML, with one flag overridden')
    .example('$0 probe -b mobilenet-v2 -d ucmerced --data-root ../shared/data --protocol study -k 10', "the study's exact 147:42:1071 UC Merced split")
    .example('$0 probe -b dino -d folder:./photos -k 10', 'a study backbone (downloaded from the hub on first use, then cached)')
    .example('$0 probe -b model.onnx --card configs/cards/mobilenetv2-12-int8.json -d mnist', 'your own ONNX model, described by a card');
}

type ProbeArgs = Awaited<ReturnType<typeof probeOptions>['argv']>;

/** Flags and the config file → a checked job; a bad value is one line naming the flag or the file's key. */
async function probeJob(argv: ProbeArgs): Promise<ProbeJob> {
  const a = argv as Record<string, unknown>;
  const flags: Record<string, unknown> = {
    backbones: argv.backbone === undefined ? undefined : listOf(argv.backbone),
    dataset: argv.dataset,
    dataRoot: argv['data-root'],
    protocol: argv.protocol,
    shots: argv.shots,
    valPerClass: argv['val-per-class'],
    testPerClass: argv['test-per-class'],
    seed: argv.seed,
    probes: argv.probe === undefined ? undefined : listOf(argv.probe),
    layer: argv.layer,
    runtime: argv.runtime,
    batchSize: argv['batch-size'],
    threads: argv.threads,
    device: argv.device,
    card: argv.card,
    resultsDir: argv['results-dir'],
    cache: argv.cache,
    ...Object.fromEntries(Object.entries(METHOD_FLAGS).map(([key, f]) => [key, a[f.flag] === undefined ? undefined : flagValue(f, a[f.flag])])),
  };
  const fromFile = argv.config ? await readJobFile(argv.config) : {};
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = ProbeJobSchema.strict().safeParse({ ...fromFile, ...given });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? '');
    throw new ConfigError(`Invalid ${argv.config && !(key in given) ? `"${key}" in ${argv.config}` : `--${flagOf(key)}`}: ${issue.message}.`);
  }
  return parsed.data;
}

async function probe(argv: ProbeArgs): Promise<void> {
  const job = await probeJob(argv);
  let bar: ReturnType<typeof progressBar> | undefined;
  const sizes = (split: { train: number[]; val: number[]; tests: Record<string, number[]> }) =>
    `${split.train.length}/${split.val.length}/${Object.entries(split.tests).map(([k, v]) => (k === 'test' ? `${v.length}` : `${k} ${v.length}`)).join(' + ')}`;
  const { records, resultsPath, runId } = await runCells(
    {
      backbones: job.backbones,
      dataset: job.dataset,
      dataRoot: job.dataRoot,
      split: { protocol: job.protocol, shots: job.shots, valPerClass: job.valPerClass, testPerClass: job.testPerClass, seed: job.seed },
      methods: job.probes.map(getMethod),
      options: job,
      open: { layer: job.layer, runtime: job.runtime, threads: job.threads, device: job.device, card: job.card },
      batchSize: job.batchSize,
      cache: job.cache,
      resultsDir: job.resultsDir,
      resultsFile: PROBE_RESULTS_FILE,
    },
    {
      onDataset: (ds, split) => {
        note(`${ds.name}: ${plural(ds.classes.length, 'class', 'classes')}, ${plural(ds.samples.length, 'image')}; split train/val/test ${sizes(split)} (${job.protocol} protocol, seed ${job.seed})`);
        if (ds.rejected?.length) {
          note(`rejected ${ds.rejected.length} listed image(s):`);
          for (const r of ds.rejected.slice(0, 5)) note(`  ${r.id}: ${r.reason}`);
          if (ds.rejected.length > 5) note(`  … and ${ds.rejected.length - 5} more`);
        }
      },
      onRedrawn: (n, split) => {
        bar?.stop();
        bar = progressBar('extract (redrawn split)');
        note(`${n} unreadable image(s) had been drawn for train or val; split drawn again without them: train/val/test ${sizes(split)}`);
      },
      onDownload: (file, bytes, total) => {
        if (!bar) bar = progressBar(`download ${file}`, { unit: 'MB', scale: 1e-6 });
        bar.update(bytes, total ?? bytes);
      },
      onBackbone: (name, runtime, layer, _n, warnings) => {
        bar?.stop();
        for (const w of warnings) note(`warning: ${w}`);
        note(`${name} @ ${layer} on ${runtime}`);
        bar = progressBar(`extract ${name}`);
      },
      onProgress: (done, total) => bar?.update(done, total),
      onCacheInvalid: (reason) => note(`cache entry not used, extracting again: ${reason}`),
      onExtracted: (name, ips, skipped, fromCache) => {
        bar?.stop();
        bar = undefined;
        note(fromCache ? `${name}: features from the cache (extracted earlier at ${ips.toFixed(1)} images/s)` : `${name}: ${ips.toFixed(1)} images/s`);
        if (skipped.length > 0) {
          note(`skipped ${skipped.length} unreadable image(s):`);
          for (const s of skipped.slice(0, 10)) note(`  ${s.id}: ${s.reason}`);
          if (skipped.length > 10) note(`  … and ${skipped.length - 10} more`);
        }
      },
      onResultsRepaired: (file) => note(`the results file ended in a torn line (an earlier run was cut off); moved it to ${file}`),
    },
  );
  process.stdout.write(`\n${detailTable(records)}\n\n${studyTable(records)}\n\nresults appended to ${resultsPath} (run ${runId})\n`);
}

/** A YAML job file: a mapping with the schema's keys. */
async function readJobFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`Cannot read config file "${path}" (${err.code ?? err.message}).`);
  });
  let doc: unknown;
  try {
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    throw new ConfigError(`Config file "${path}" is not valid YAML: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`Config file "${path}" must be a YAML mapping of job keys (backbones, dataset, shots, ...).`);
  return doc as Record<string, unknown>;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** The flag of a job key: a method's own flag, or the key in kebab-case. */
function flagOf(key: string): string {
  const flags: Record<string, string> = { backbones: 'backbone', probes: 'probe' };
  return METHOD_FLAGS[key]?.flag ?? flags[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export const probeCommand: Command = {
  name: 'probe',
  register: (y) => y.command('probe', 'extract features with one or more backbones and score kNN and logistic-regression probes', probeOptions, probe),
};
