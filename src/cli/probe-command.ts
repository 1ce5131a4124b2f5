import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { PROBE_JOB_DEFAULTS, ProbeJobSchema, PROBE_NAMES, RUNTIMES } from '../config/defaults.ts';
import { ConfigError } from '../errors.ts';
import { runProbeJob } from '../jobs/probe-job.ts';
import { probeDetailTable, studyTable } from '../report/table.ts';
import { progressBar } from './progress.ts';

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
const D = PROBE_JOB_DEFAULTS;

/** Flags carry no yargs defaults: the schema is the one home of defaults, shown here in the help text. */
export function probeOptions(y: Argv) {
  const dflt = (v: unknown) => ` [default: ${v}]`;
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML file with the job (keys as in configs/probe-mnist.yaml); flags override it' })
    .option('backbone', { alias: 'b', type: 'string', describe: 'backbone name(s) from `reprobe models list`, comma-separated for a side-by-side table, or a model.onnx path with --card' + dflt(D.backbones.join(',')) })
    .option('dataset', { alias: 'd', type: 'string', describe: 'a name from `reprobe datasets list`: mnist, ucmerced, dtd, ..., folder:<path>, csv:<file>' + dflt(D.dataset) })
    .option('data-root', { type: 'string', describe: 'folder holding the study datasets [default: $REPROBE_DATA, else ~/.cache/reprobe/data]' })
    .option('protocol', { choices: ['shots', 'study'] as const, describe: "shots = k training images per class; study = the study's split table for --shots 10/100/1000 (configs/splits/study.yaml)" + dflt(D.protocol) })
    .option('shots', { alias: 'k', type: 'number', describe: 'training images per class, or the study\'s shot level with --protocol study' + dflt(D.shots) })
    .option('val-per-class', { type: 'number', describe: 'validation images per class [default: about 0.3 x shots]' })
    .option('test-per-class', { type: 'number', describe: 'test images per class [default: all the rest]' })
    .option('seed', { type: 'number', describe: 'seed of the split; same seed, same split and numbers' + dflt(D.seed) })
    .option('probe', { type: 'string', describe: `probes to run: ${PROBE_NAMES.join(', ')}` + dflt(D.probes.join(',')) })
    .option('knn-k', { type: 'string', describe: 'kNN neighbours; several (1,5,20) = the best on val; k above the training-set size is clamped to it' + dflt(D.knnK.join(',')) })
    .option('knn-vote', { choices: ['weighted', 'majority'] as const, describe: "weighted = DINO's exp(sim / 0.07) vote; majority = one vote per neighbour" + dflt(D.knnVote) })
    .option('lr-c', { type: 'string', describe: 'logistic-regression C values swept on val (inverse L2 strength, as scikit-learn)' + dflt(D.lrC.join(',')) })
    .option('lr-refit', { choices: ['train', 'train+val'] as const, describe: 'final LR model: the sweep\'s fit on train, or a refit at the chosen C on train + val' + dflt(D.lrRefit) })
    .option('layer', { type: 'string', describe: "feature layer instead of the card's tap (see `reprobe models layers NAME`)" })
    .option('runtime', { choices: RUNTIMES, describe: 'auto = onnxruntime on a converted graph, tfjs as fallback' + dflt(D.runtime) })
    .option('batch-size', { type: 'number', describe: 'images per inference batch' + dflt(D.batchSize) })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads [default: all cores]' })
    .option('device', { choices: ['cpu', 'cuda'] as const, describe: 'onnxruntime execution provider (cuda falls back to cpu when not installed)' + dflt(D.device) })
    .option('card', { type: 'string', describe: 'card JSON for a --backbone given as a model.onnx path (see configs/cards/)' })
    .option('cache', { type: 'boolean', describe: 'reuse and keep features in $REPROBE_HOME/features (--no-cache bypasses it)' + dflt(D.cache) })
    .option('results-dir', { type: 'string', describe: 'where probe.jsonl is appended' + dflt(D.resultsDir) })
    .epilog(
      'Bad input stops the run with one line, never a silent number: NaN/Inf features, fewer than 2 training classes, a val/test class ' +
        'without training images, an empty test split. k above the training-set size is clamped (the record\'s chosen.k is the k used).',
    )
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'kNN and logistic-regression probes on 10 digits per class')
    .example('$0 probe -b mobilenet-v2,inception-v3 -d folder:./photos -k 5', 'compare two backbones on your own image folders')
    .example('$0 probe --config configs/probe-mnist.yaml --seed 1', 'a job from YAML, with one flag overridden')
    .example('$0 probe -b mobilenet-v2 -d ucmerced --data-root ../shared/data --protocol study -k 10', "the study's exact 147:42:1071 UC Merced split")
    .example('$0 probe -b dino -d folder:./photos -k 10', 'a study backbone (downloaded from the hub on first use, then cached)')
    .example('$0 probe -b model.onnx --card configs/cards/mobilenetv2-12-int8.json -d mnist', 'your own ONNX model, described by a card');
}

type ProbeArgs = Awaited<ReturnType<typeof probeOptions>['argv']>;

export async function probeCommand(argv: ProbeArgs): Promise<void> {
  const flags = {
    backbones: argv.backbone === undefined ? undefined : list(argv.backbone),
    dataset: argv.dataset,
    dataRoot: argv['data-root'],
    protocol: argv.protocol,
    shots: argv.shots,
    valPerClass: argv['val-per-class'],
    testPerClass: argv['test-per-class'],
    seed: argv.seed,
    probes: argv.probe === undefined ? undefined : list(argv.probe),
    knnK: argv['knn-k'] === undefined ? undefined : list(argv['knn-k']).map(Number),
    knnVote: argv['knn-vote'],
    lrC: argv['lr-c'] === undefined ? undefined : list(argv['lr-c']).map(Number),
    lrRefit: argv['lr-refit'],
    layer: argv.layer,
    runtime: argv.runtime,
    batchSize: argv['batch-size'],
    threads: argv.threads,
    device: argv.device,
    card: argv.card,
    resultsDir: argv['results-dir'],
    cache: argv.cache,
  };
  const fromFile = argv.config ? await readJobFile(argv.config) : {};
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = ProbeJobSchema.strict().safeParse({ ...fromFile, ...given });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? '');
    throw new ConfigError(`Invalid ${argv.config && !(key in given) ? `"${key}" in ${argv.config}` : `--${kebab(key)}`}: ${issue.message}.`);
  }
  let bar: ReturnType<typeof progressBar> | undefined;
  const { records, resultsPath } = await runProbeJob(parsed.data, {
    onDataset: (ds, split) => {
      const tests = Object.entries(split.tests).map(([k, v]) => (k === 'test' ? `${v.length}` : `${k} ${v.length}`)).join(' + ');
      note(`${ds.name}: ${ds.classes.length} classes, ${ds.samples.length} images; split train/val/test ${split.train.length}/${split.val.length}/${tests} (${parsed.data.protocol} protocol, seed ${parsed.data.seed})`);
      if (ds.rejected?.length) {
        note(`rejected ${ds.rejected.length} listed image(s):`);
        for (const r of ds.rejected.slice(0, 5)) note(`  ${r.id}: ${r.reason}`);
        if (ds.rejected.length > 5) note(`  … and ${ds.rejected.length - 5} more`);
      }
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
  });
  process.stdout.write(`\n${probeDetailTable(records)}\n\n${studyTable(records)}\n\nresults appended to ${resultsPath}\n`);
}

/** A YAML job file: a mapping with the schema's keys. */
async function readJobFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new ConfigError(`Cannot read config file "${path}".`);
  });
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`Config file "${path}" is not valid YAML: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`Config file "${path}" must be a YAML mapping of job keys (backbones, dataset, shots, ...).`);
  return doc as Record<string, unknown>;
}

function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function kebab(s: string): string {
  const flags: Record<string, string> = { backbones: 'backbone', probes: 'probe' };
  return flags[s] ?? s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
