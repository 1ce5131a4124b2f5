import { fetchModel, loadCard, openBackbone } from '../backbones/registry.ts';
import { isKerasCard, type Card } from '../backbones/types.ts';
import { datasetEntry, loadDataset } from '../data/registry.ts';
import type { Dataset } from '../data/types.ts';
import { extractCached } from '../features/cache.ts';
import { extractFeatures, type Skipped } from '../features/extract.ts';
import { getProbe } from '../probes/registry.ts';
import { accuracy, balancedAccuracy, groupAccuracies, macroF1, macroF1TrueClasses, worstGroupAccuracy } from '../probes/metrics.ts';
import type { ProbeInput } from '../probes/types.ts';
import { validateProbeInput } from '../probes/validate.ts';
import { appendRecords, type ProbeRecord } from '../results/record.ts';
import { versions } from '../results/versions.ts';
import { takeRows } from '../util/matrix.ts';
import type { ProbeJob } from '../config/defaults.ts';
import { hashSplit, jobSplit, saveSplit, type JobSplit } from './job-split.ts';

/** Callbacks the CLI turns into progress bars and notes; the library itself never prints. */
export interface ProbeJobEvents {
  onDataset?(ds: Dataset, split: JobSplit): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onBackbone?(backbone: string, runtime: string, layer: string, images: number, warnings: string[]): void;
  onProgress?(done: number, total: number): void;
  onExtracted?(backbone: string, imagesPerSecond: number, skipped: Skipped[], fromCache: boolean): void;
}

export interface ProbeJobResult {
  records: ProbeRecord[];
  resultsPath: string;
}

/** Official metrics beyond accuracy: WILDS iWildCam reports macro-F1 (FMoW adds worst-region accuracy via groups). */
const HEADLINE: Record<string, 'macro_f1' | 'accuracy'> = { iwildcam: 'macro_f1' };

/** Dataset → split → per backbone: features → every probe → one record per (backbone, probe, test set). */
export async function runProbeJob(job: ProbeJob, events: ProbeJobEvents = {}): Promise<ProbeJobResult> {
  // Fail on a bad name, card or missing model before any slow work; hub models download here, up front.
  for (const b of job.backbones) {
    const card = await loadCard(b, job.card);
    if (!isKerasCard(card)) await fetchModel(card, events.onDownload);
  }
  const probes = job.probes.map(getProbe);
  const { entry } = datasetEntry(job.dataset);
  const ds = await loadDataset(job.dataset, job.dataRoot);
  const labels = ds.samples.map((s) => s.label);
  const split = jobSplit(job, ds, entry.name);
  events.onDataset?.(ds, split);
  const testNames = Object.keys(split.tests);
  // Images in dataset order: the same set (the whole dataset or pool, whatever the seed) gives the same cache key.
  const order = [...new Set([...split.train, ...split.val, ...testNames.flatMap((t) => split.tests[t])])].sort((a, b) => a - b);
  const splitHash = hashSplit(ds, split);
  const splitFile = await saveSplit(job.resultsDir, splitHash, ds, split, job);
  const records: ProbeRecord[] = [];
  let resultsPath = '';
  for (const name of job.backbones) {
    const cell: ProbeRecord[] = [];
    const backbone = await openBackbone(name, { layer: job.layer, runtime: job.runtime, threads: job.threads, device: job.device, card: job.card, onDownload: events.onDownload });
    events.onBackbone?.(name, backbone.runtime, backbone.tap, order.length, backbone.warnings ?? []);
    const samples = order.map((i) => ds.samples[i]);
    const opt = { batchSize: job.batchSize, onProgress: events.onProgress };
    const cached = job.cache ? await extractCached(backbone, samples, { backboneName: name, dataset: ds.name, classes: ds.classes }, opt) : undefined;
    const ext = cached ?? (await extractFeatures(backbone, samples, opt));
    await backbone.dispose();
    events.onExtracted?.(name, ext.imagesPerSecond, ext.skipped, cached?.fromCache ?? false);
    const rowOf = new Map(ext.kept.map((k, row) => [order[k], row]));
    const keptOf = (idx: number[]) => idx.filter((i) => rowOf.has(i));
    const part = (idx: number[]) => ({ x: takeRows(ext.features, idx.map((i) => rowOf.get(i)!)), y: Int32Array.from(idx, (i) => labels[i]) });
    const [trIdx, vaIdx] = [keptOf(split.train), keptOf(split.val)];
    const teIdx = testNames.map((t) => keptOf(split.tests[t]));
    const [tr, va, te] = [part(trIdx), part(vaIdx), part(teIdx.flat())];
    const input: ProbeInput = { train: tr.x, trainLabels: tr.y, val: va.x, valLabels: va.y, test: te.x, testLabels: te.y, numClasses: ds.classes.length };
    validateProbeInput(input, ds.classes);
    for (const probe of probes) {
      const t0 = performance.now();
      const out = await probe.run(input, { knnK: job.knnK, knnVote: job.knnVote, lrC: job.lrC, lrRefit: job.lrRefit });
      const fitSeconds = round((performance.now() - t0) / 1000);
      let off = 0;
      testNames.forEach((testName, t) => {
        const idx = teIdx[t];
        const truth = te.y.subarray(off, off + idx.length);
        const pred = out.testPred.subarray(off, off + idx.length);
        off += idx.length;
        const metric = HEADLINE[entry.name] ?? 'accuracy';
        cell.push({
          task: 'probe',
          backbone: name,
          model: modelSource(backbone.card),
          layer: backbone.tap,
          runtime: backbone.runtime,
          dataset: job.dataset,
          protocol: job.protocol,
          shots: job.shots,
          seed: job.seed,
          probe: probe.name,
          eval_split: testName,
          metric,
          value: metric === 'macro_f1' ? macroF1TrueClasses(truth, pred, ds.classes.length) : accuracy(truth, pred),
          accuracy: accuracy(truth, pred),
          val_accuracy: out.valAccuracy,
          balanced_accuracy: balancedAccuracy(truth, pred, ds.classes.length),
          macro_f1: macroF1(truth, pred, ds.classes.length),
          ...(ds.groups ? groupMetrics(ds.groups, idx, truth, pred) : {}),
          chosen: out.chosen,
          n_train: tr.y.length,
          n_val: va.y.length,
          n_test: idx.length,
          n_classes: ds.classes.length,
          skipped_images: ext.skipped.length,
          split_hash: splitHash,
          split_file: splitFile,
          features_key: cached?.key ?? null,
          features_from_cache: cached?.fromCache ?? false,
          extract_seconds: round(ext.seconds),
          images_per_second: round(ext.imagesPerSecond),
          fit_seconds: fitSeconds,
          versions: versions(),
          time: new Date().toISOString(),
        });
      });
    }
    // Written per backbone: a run killed later keeps the finished cells.
    resultsPath = await appendRecords(job.resultsDir, cell);
    records.push(...cell);
  }
  return { records, resultsPath };
}

/** Worst-group accuracy over the dataset's groups (WILDS leaves out FMoW's "Other" region). */
function groupMetrics(g: NonNullable<Dataset['groups']>, idx: number[], truth: Int32Array, pred: Int32Array) {
  const acc = groupAccuracies(truth, pred, Int32Array.from(idx, (i) => g.of[i]), g.names.length);
  return { group_field: g.field, worst_group_accuracy: worstGroupAccuracy(acc, g.names, ['Other']) };
}

function modelSource(card: Card): string {
  const s = card.source;
  if (s.kind === 'hub') return `hub:${s.repo}/${s.file}@${s.revision ?? 'main'}`;
  return s.kind === 'file' ? `file:${s.path}` : `nsfwjs:${s.model}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
