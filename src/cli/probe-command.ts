import type { Argv } from 'yargs';
import { PROBE_JOB_DEFAULTS, ProbeJobSchema, PROBE_NAMES, RUNTIMES } from '../config/defaults.ts';
import { ConfigError } from '../errors.ts';
import { runProbeJob } from '../jobs/probe-job.ts';
import { probeDetailTable, studyTable } from '../report/table.ts';
import { progressBar } from './progress.ts';

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
const D = PROBE_JOB_DEFAULTS;

export function probeOptions(y: Argv) {
  return y
    .option('backbone', { alias: 'b', type: 'string', default: D.backbones.join(','), describe: 'backbone name(s), comma-separated for a side-by-side table' })
    .option('dataset', { alias: 'd', type: 'string', default: D.dataset, describe: 'mnist | folder:<path> (one sub-folder per class)' })
    .option('shots', { alias: 'k', type: 'number', default: D.shots, describe: 'training images per class' })
    .option('val-per-class', { type: 'number', describe: 'validation images per class [default: about 0.3 x shots]' })
    .option('test-per-class', { type: 'number', describe: 'test images per class [default: all the rest]' })
    .option('seed', { type: 'number', default: D.seed, describe: 'seed of the split; same seed, same split and numbers' })
    .option('probe', { type: 'string', default: D.probes.join(','), describe: `probes to run: ${PROBE_NAMES.join(', ')}` })
    .option('layer', { type: 'string', describe: "feature layer instead of the card's tap (see `reprobe models layers NAME`)" })
    .option('runtime', { choices: RUNTIMES, default: D.runtime, describe: 'auto = onnxruntime on a converted graph, tfjs as fallback' })
    .option('batch-size', { type: 'number', default: D.batchSize, describe: 'images per inference batch' })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads [default: all cores]' })
    .option('results-dir', { type: 'string', default: D.resultsDir, describe: 'where probe.jsonl is appended' })
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'kNN and logistic-regression probes on 10 digits per class')
    .example('$0 probe -b mobilenet-v2,inception-v3 -d folder:./photos -k 5', 'compare two backbones on your own image folders');
}

type ProbeArgs = Awaited<ReturnType<typeof probeOptions>['argv']>;

export async function probeCommand(argv: ProbeArgs): Promise<void> {
  const parsed = ProbeJobSchema.safeParse({
    backbones: list(argv.backbone),
    dataset: argv.dataset,
    shots: argv.shots,
    valPerClass: argv['val-per-class'],
    testPerClass: argv['test-per-class'],
    seed: argv.seed,
    probes: list(argv.probe),
    layer: argv.layer,
    runtime: argv.runtime,
    batchSize: argv['batch-size'],
    threads: argv.threads,
    resultsDir: argv['results-dir'],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid --${kebab(String(issue.path[0] ?? ''))}: ${issue.message}.`);
  }
  let bar: ReturnType<typeof progressBar> | undefined;
  const { records, resultsPath } = await runProbeJob(parsed.data, {
    onDataset: (ds, split) =>
      note(`${ds.name}: ${ds.classes.length} classes, ${ds.samples.length} images; split train/val/test ${split.train.length}/${split.val.length}/${split.test.length} (seed ${parsed.data.seed})`),
    onBackbone: (name, runtime, layer) => {
      note(`${name} @ ${layer} on ${runtime}`);
      bar = progressBar(`extract ${name}`);
    },
    onProgress: (done, total) => bar?.update(done, total),
    onExtracted: (name, ips, skipped) => {
      bar?.stop();
      note(`${name}: ${ips.toFixed(1)} images/s`);
      if (skipped.length > 0) {
        note(`skipped ${skipped.length} unreadable image(s):`);
        for (const s of skipped.slice(0, 10)) note(`  ${s.id}: ${s.reason}`);
        if (skipped.length > 10) note(`  … and ${skipped.length - 10} more`);
      }
    },
  });
  process.stdout.write(`\n${probeDetailTable(records)}\n\n${studyTable(records)}\n\nresults appended to ${resultsPath}\n`);
}

function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function kebab(s: string): string {
  const flags: Record<string, string> = { backbones: 'backbone', probes: 'probe' };
  return flags[s] ?? s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
