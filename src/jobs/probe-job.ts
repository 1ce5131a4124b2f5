import { createHash } from 'node:crypto';
import { fetchModel, loadCard, openBackbone } from '../backbones/registry.ts';
import { isKerasCard, type Card } from '../backbones/types.ts';
import { defaultValPerClass, fewShotSplit, type Split } from '../data/splits.ts';
import { loadDataset } from '../data/registry.ts';
import type { Dataset } from '../data/types.ts';
import { extractFeatures, type Skipped } from '../features/extract.ts';
import { getProbe } from '../probes/registry.ts';
import { accuracy, balancedAccuracy, macroF1 } from '../probes/metrics.ts';
import type { ProbeInput } from '../probes/types.ts';
import { validateProbeInput } from '../probes/validate.ts';
import { appendRecords, type ProbeRecord } from '../results/record.ts';
import { versions } from '../results/versions.ts';
import { takeRows } from '../util/matrix.ts';
import type { ProbeJob } from '../config/defaults.ts';

/** Callbacks the CLI turns into progress bars and notes; the library itself never prints. */
export interface ProbeJobEvents {
  onDataset?(ds: Dataset, split: Split): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onBackbone?(backbone: string, runtime: string, layer: string, images: number, warnings: string[]): void;
  onProgress?(done: number, total: number): void;
  onExtracted?(backbone: string, imagesPerSecond: number, skipped: Skipped[]): void;
}

export interface ProbeJobResult {
  records: ProbeRecord[];
  resultsPath: string;
}

/** Dataset → few-shot split → per backbone: features → every probe → one result record per (backbone, probe). */
export async function runProbeJob(job: ProbeJob, events: ProbeJobEvents = {}): Promise<ProbeJobResult> {
  // Fail on a bad name, card or missing model before any slow work; hub models download here, up front.
  for (const b of job.backbones) {
    const card = await loadCard(b, job.card);
    if (!isKerasCard(card)) await fetchModel(card, events.onDownload);
  }
  const probes = job.probes.map(getProbe);
  const ds = await loadDataset(job.dataset);
  const labels = ds.samples.map((s) => s.label);
  const valPerClass = job.valPerClass ?? defaultValPerClass(job.shots);
  const split = fewShotSplit(labels, ds.classes, { shots: job.shots, valPerClass, testPerClass: job.testPerClass, seed: job.seed });
  events.onDataset?.(ds, split);
  const order = [...split.train, ...split.val, ...split.test];
  const splitHash = hashSplit(ds, split);
  const records: ProbeRecord[] = [];
  let resultsPath = '';
  for (const name of job.backbones) {
    const cell: ProbeRecord[] = [];
    const backbone = await openBackbone(name, { layer: job.layer, runtime: job.runtime, threads: job.threads, device: job.device, card: job.card, onDownload: events.onDownload });
    events.onBackbone?.(name, backbone.runtime, backbone.tap, order.length, backbone.warnings ?? []);
    const ext = await extractFeatures(
      backbone,
      order.map((i) => ds.samples[i]),
      { batchSize: job.batchSize, onProgress: events.onProgress },
    );
    await backbone.dispose();
    events.onExtracted?.(name, ext.imagesPerSecond, ext.skipped);
    const rowOf = new Map(ext.kept.map((k, row) => [order[k], row]));
    const part = (idx: number[]) => {
      const kept = idx.filter((i) => rowOf.has(i));
      return { x: takeRows(ext.features, kept.map((i) => rowOf.get(i)!)), y: Int32Array.from(kept, (i) => labels[i]) };
    };
    const [tr, va, te] = [part(split.train), part(split.val), part(split.test)];
    const input: ProbeInput = { train: tr.x, trainLabels: tr.y, val: va.x, valLabels: va.y, test: te.x, testLabels: te.y, numClasses: ds.classes.length };
    validateProbeInput(input, ds.classes);
    for (const probe of probes) {
      const t0 = performance.now();
      const out = probe.run(input);
      cell.push({
        task: 'probe',
        backbone: name,
        model: modelSource(backbone.card),
        layer: backbone.tap,
        runtime: backbone.runtime,
        dataset: job.dataset,
        protocol: 'shots',
        shots: job.shots,
        seed: job.seed,
        probe: probe.name,
        metric: 'accuracy',
        value: accuracy(te.y, out.testPred),
        val_accuracy: out.valAccuracy,
        balanced_accuracy: balancedAccuracy(te.y, out.testPred, ds.classes.length),
        macro_f1: macroF1(te.y, out.testPred, ds.classes.length),
        chosen: out.chosen,
        n_train: tr.y.length,
        n_val: va.y.length,
        n_test: te.y.length,
        n_classes: ds.classes.length,
        skipped_images: ext.skipped.length,
        split_hash: splitHash,
        extract_seconds: round(ext.seconds),
        images_per_second: round(ext.imagesPerSecond),
        fit_seconds: round((performance.now() - t0) / 1000),
        versions: versions(),
        time: new Date().toISOString(),
      });
    }
    // Written per backbone: a run killed later keeps the finished cells.
    resultsPath = await appendRecords(job.resultsDir, cell);
    records.push(...cell);
  }
  return { records, resultsPath };
}

/** Short hash of the split's image ids, so two results can be checked to share a split. */
function hashSplit(ds: Dataset, split: Split): string {
  const h = createHash('sha256');
  for (const part of [split.train, split.val, split.test]) h.update(part.map((i) => ds.samples[i].id).join('\n') + '\n--\n');
  return h.digest('hex').slice(0, 12);
}

function modelSource(card: Card): string {
  const s = card.source;
  if (s.kind === 'hub') return `hub:${s.repo}/${s.file}@${s.revision ?? 'main'}`;
  return s.kind === 'file' ? `file:${s.path}` : `nsfwjs:${s.model}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
