import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, firstLine, fsError, printable } from '../errors.ts';
import { DEVICES, RUNTIMES, type SharedJob } from '../jobs/job-schema.ts';
import type { Method } from '../method/contract.ts';
import type { CellEvents, CellJob, CellRunResult } from '../jobs/run-cells.ts';
import type { CellRecord } from '../results/record.ts';
import { flagValue, listOf, takeOldNames, type FlagSpec } from '../util/options.ts';
import { assertDevice, type Device } from '../runtime/ort.ts';
import { progressBar } from './progress.ts';

/** What the cell-running commands (probe, finetune) share: flags for the data, split and backbones, job parsing, progress. */
export const dflt = (v: unknown) => (v === undefined ? '' : ` [default: ${Array.isArray(v) ? v.join(',') : v}]`);

/** Flags carry no yargs defaults: the schema is the one home of defaults, shown here in the help text. */
export function jobFlags(y: Argv, d: Record<string, unknown>, resultsFile: string) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML file with the job (keys as in configs/); flags override it' })
    .option('backbone', { alias: 'b', type: 'string', describe: 'backbone name(s) from `reprobe models list`, comma-separated for a side-by-side table, or a model.onnx path with --card' + dflt(d.backbones) })
    .option('dataset', { alias: 'd', type: 'string', describe: 'a name from `reprobe datasets list`: mnist, ucmerced, dtd, ..., folder:<path>, csv:<file>' + dflt(d.dataset) })
    .option('data-root', { type: 'string', describe: 'folder holding the study datasets [default: $REPROBE_DATA, else ~/.cache/reprobe/data]' })
    .option('protocol', { choices: ['shots', 'study'] as const, describe: "shots = k training images per class; study = the study's split table for --shots 10/100/1000 (configs/splits/study.yaml)" + dflt(d.protocol) })
    .option('shots', { alias: 'k', type: 'number', describe: "training images per class, or the study's shot level with --protocol study" + dflt(d.shots) })
    .option('val-per-class', { type: 'number', describe: 'validation images per class [default: about 0.3 x shots]' })
    .option('test-per-class', { type: 'number', describe: 'test images per class [default: all the rest]' })
    .option('seed', { type: 'number', describe: 'seed of the split (and of everything else random), 0 to 4294967295; same seed, same split and numbers' + dflt(d.seed) })
    .option('seeds', { type: 'string', describe: 'several seeds, comma-separated (0,1,2): the split draw and the fit repeated for each, then mean ± std with n' })
    .option('layer', { type: 'string', describe: "feature layer instead of the card's tap (see `reprobe models layers NAME`)" })
    .option('runtime', { choices: RUNTIMES, describe: 'auto = onnxruntime on a converted graph, tfjs as fallback' + dflt(d.runtime) })
    .option('batch-size', { type: 'number', describe: 'images per batch' + dflt(d.batchSize) })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads [default: all cores]' })
    .option('device', { choices: DEVICES, describe: 'onnxruntime execution provider (cuda falls back to cpu when not installed)' + dflt(d.device) })
    .option('strict', { alias: 'require-device', type: 'boolean', describe: 'with --device cuda: fail when CUDA cannot be used instead of falling back to the CPU (see `reprobe doctor --device cuda`)' + dflt(d.strictDevice) })
    .option('card', { type: 'string', describe: 'card JSON for a --backbone given as a model.onnx path (see configs/cards/)' })
    .option('cache', { type: 'boolean', describe: 'reuse and keep features in $REPROBE_HOME/features (--no-cache bypasses it)' + dflt(d.cache) })
    .option('results-dir', { type: 'string', describe: `the results folder: its store records/, the view ${resultsFile} and splits/` + dflt(d.resultsDir) });
}

/** A method's own flags (built from its option specs: a new method brings its flags with it). */
export function methodFlags(y: Argv, flags: Record<string, FlagSpec>, d: Record<string, unknown>): Argv {
  let o = y;
  for (const [key, f] of Object.entries(flags)) {
    const describe = f.describe + dflt(d[key]);
    o = typeof f.cli === 'object' ? o.option(f.flag, { choices: f.cli.choices, describe }) : o.option(f.flag, { type: f.cli === 'boolean' ? 'boolean' : 'string', describe });
    // The flag's name before a rename: still read (parseJob warns), no longer shown.
    if (f.was) o = o.option(f.was.flag, { type: 'string', hidden: true });
  }
  return o;
}

/** The job keys every cell-running command takes from its shared flags. */
function sharedValues(argv: Record<string, unknown>): Record<string, unknown> {
  return {
    backbones: argv.backbone === undefined ? undefined : listOf(argv.backbone),
    dataset: argv.dataset,
    dataRoot: argv['data-root'],
    protocol: argv.protocol,
    shots: argv.shots,
    valPerClass: argv['val-per-class'],
    testPerClass: argv['test-per-class'],
    seed: argv.seed,
    seeds: argv.seeds === undefined ? undefined : listOf(argv.seeds).map(Number),
    layer: argv.layer,
    runtime: argv.runtime,
    batchSize: argv['batch-size'],
    threads: argv.threads,
    device: argv.device,
    strictDevice: argv.strict,
    card: argv.card,
    resultsDir: argv['results-dir'],
    cache: argv.cache,
  };
}

/** Run a command's cells once per seed of `--seeds` (or once, with `--seed`): every record, and the last results path. */
export async function runSeeds(job: SharedJob, run: (seed: number) => Promise<CellRunResult>): Promise<{ records: CellRecord[]; resultsPath: string; runIds: string[] }> {
  const records: CellRecord[] = [];
  const runIds: string[] = [];
  let resultsPath = '';
  for (const seed of job.seeds ?? [job.seed]) {
    const r = await run(seed);
    records.push(...r.records);
    runIds.push(r.runId);
    resultsPath = r.resultsPath;
  }
  return { records, resultsPath, runIds };
}

/** A checked job → the runner's cells: the command's methods and results file, the rest from the job's shared keys. */
export function cellJob(job: SharedJob & Record<string, unknown>, methods: readonly Method[], resultsFile: string, resume = false): CellJob {
  return {
    backbones: job.backbones,
    dataset: job.dataset,
    dataRoot: job.dataRoot,
    split: { protocol: job.protocol, shots: job.shots, valPerClass: job.valPerClass, testPerClass: job.testPerClass, seed: job.seed },
    methods,
    options: job,
    open: { layer: job.layer, runtime: job.runtime, threads: job.threads, device: job.device, strict: job.strictDevice, card: job.card },
    batchSize: job.batchSize,
    cache: job.cache,
    resume,
    resultsDir: job.resultsDir,
    resultsFile,
  };
}

/** Flags and the config file → a checked job; a bad value is one line naming the flag or the file's key. */
export async function parseJob<S extends z.ZodObject>(
  argv: Record<string, unknown>,
  schema: S,
  own: Record<string, unknown>,
  flags: Record<string, FlagSpec>,
  flagNames: Record<string, string> = {},
): Promise<z.infer<S>> {
  for (const f of Object.values(flags)) {
    if (f.was === undefined || argv[f.was.flag] === undefined) continue;
    if (argv[f.flag] !== undefined) throw new ConfigError(`--${f.was.flag} and --${f.flag} are one option (--${f.flag} is its new name); give it once.`);
    process.stderr.write(`reprobe: warning: --${f.was.flag} is now --${f.flag}; the old flag is read until the next release.\n`);
  }
  const raw = (f: FlagSpec) => argv[f.flag] ?? (f.was ? argv[f.was.flag] : undefined);
  const values: Record<string, unknown> = {
    ...sharedValues(argv),
    ...own,
    ...Object.fromEntries(Object.entries(flags).map(([key, f]) => [key, raw(f) === undefined ? undefined : flagValue(f, raw(f))])),
  };
  if (argv.seed !== undefined && argv.seeds !== undefined) throw new ConfigError('Give --seed or --seeds, not both (--seeds 0,1,2 runs each seed).');
  const config = argv.config as string | undefined;
  const file = config ? takeOldNames(await readJobFile(config), flags, config) : { values: {}, warnings: [] };
  for (const w of file.warnings) process.stderr.write(`reprobe: warning: ${printable(w)}\n`);
  const fromFile = file.values;
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  const parsed = schema.strict().safeParse({ ...fromFile, ...given });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? '');
    const flag = flags[key]?.flag ?? { backbones: 'backbone', ...flagNames }[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new ConfigError(`Invalid ${config && !(key in given) ? `"${key}" in ${config}` : `--${flag}`}: ${issue.message}.`);
  }
  // --device cuda --strict fails here, before any download or extraction, when CUDA cannot be used.
  const run = parsed.data as { device?: Device; strictDevice?: boolean };
  await assertDevice({ device: run.device, strict: run.strictDevice });
  return parsed.data as z.infer<S>;
}

/** A YAML job file: a mapping with the schema's keys. */
export async function readJobFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fsError(err, `Cannot read config file "${path}"`, 'Name a YAML file (configs/ holds examples).');
  });
  let doc: unknown;
  try {
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    throw new ConfigError(`Config file "${path}" is not valid YAML: ${firstLine(err)}`);
  }
  if (doc === null || doc === undefined) return {}; // empty, or only comments: no settings
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`Config file "${path}" must be a YAML mapping of job keys (backbones, dataset, shots, ...).`);
  return doc as Record<string, unknown>;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One line on stderr: image ids, class and dataset names in it come from users' files, so control characters are escaped. */
function note(msg: string): void {
  process.stderr.write(`${printable(msg)}\n`);
}

const sizes = (split: { train: number[]; val: number[]; tests: Record<string, number[]> }) =>
  `${split.train.length}/${split.val.length}/${Object.entries(split.tests).map(([k, v]) => (k === 'test' ? `${v.length}` : `${k} ${v.length}`)).join(' + ')}`;

/** The runner's events as notes on stderr and progress bars. */
export function cellEvents(job: { protocol: string; seed: number }): CellEvents {
  let bar: ReturnType<typeof progressBar> | undefined;
  let stage = '';
  const stop = () => {
    bar?.stop();
    bar = undefined;
    stage = '';
  };
  return {
    onDataset: (ds, split) => {
      note(`${ds.name}: ${plural(ds.classes.length, 'class', 'classes')}, ${plural(ds.samples.length, 'image')}; split train/val/test ${sizes(split)} (${job.protocol} protocol, seed ${job.seed})`);
      if (ds.rejected?.length) {
        note(`rejected ${ds.rejected.length} listed image(s):`);
        for (const r of ds.rejected.slice(0, 5)) note(`  ${r.id}: ${r.reason}`);
        if (ds.rejected.length > 5) note(`  … and ${ds.rejected.length - 5} more`);
      }
    },
    onRedrawn: (n, split) => {
      stop();
      bar = progressBar('extract (redrawn split)');
      note(`${n} unreadable image(s) had been drawn for train or val; split drawn again without them: train/val/test ${sizes(split)}`);
    },
    onDownload: (file, bytes, total) => {
      if (!bar) bar = progressBar(`download ${file}`, { unit: 'MB', scale: 1e-6 });
      bar.update(bytes, total ?? bytes);
    },
    onBackbone: (name, runtime, layer, _n, warnings) => {
      stop();
      for (const w of warnings) note(`warning: ${w}`);
      note(`${name} @ ${layer} on ${runtime}`);
      bar = progressBar(`${runtime === 'image check' ? 'check images' : 'extract'} ${name}`);
    },
    onProgress: (done, total) => bar?.update(done, total),
    onMethodProgress: (name, s, done, total, status) => {
      if (s !== stage) {
        stop();
        stage = s;
        bar = progressBar(`${s} ${name}`, { unit: s === 'train' ? 'epochs' : 'images', scale: 1 });
      }
      bar!.update(done, total, status);
    },
    onMethodNote: (name, message) => {
      stop();
      note(`${name}: ${message}`);
    },
    onCacheInvalid: (reason) => note(`cache entry not used, extracting again: ${reason}`),
    onExtracted: (name, ips, skipped, fromCache) => {
      stop();
      note(fromCache ? `${name}: features from the cache (extracted earlier at ${ips.toFixed(1)} images/s)` : `${name}: ${ips.toFixed(1)} images/s`);
      if (skipped.length > 0) {
        note(`skipped ${skipped.length} unreadable image(s):`);
        for (const s of skipped.slice(0, 10)) note(`  ${s.id}: ${s.reason}`);
        if (skipped.length > 10) note(`  … and ${skipped.length - 10} more`);
      }
    },
    onStoreProblem: (message) => note(message),
    onDatasetNote: (message) => note(`warning: ${message}`),
  };
}
