import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openResolved, type OpenOptions, type ResolvedBackbone } from '../backbones/registry.ts';
import { featureName, type Card } from '../backbones/types.ts';
import { drawSplit, hashSplit, splitIndices, splitSource, type Split, type SplitSpec } from '../data/split.ts';
import { studyTable } from '../data/study-table.ts';
import { copiesNote, crossLabelCopies, crossLabelNearCopies, datasetDigest, leaksNote, nearCopiesNote, splitLeaks } from '../data/content-digest.ts';
import { canonicalDataset } from '../data/registry.ts';
import { outsideDataset } from '../data/outside-dataset.ts';
import type { Dataset } from '../data/types.ts';
import { DataError } from '../errors.ts';
import type { Skipped } from '../features/extract.ts';
import { fileDigest, weightsDigest } from '../backbones/weights-digest.ts';
import { hardwareSummary } from '../results/hardware.ts';
import type { CellFields, CellRecord } from '../results/record.ts';
import { saveSplit } from '../results/splits.ts';
import { ensureResultsDir, problemLine, writeJobRecords, writeView } from '../results/job-store.ts';
import { writePredictions } from '../results/predictions.ts';
import { checkRecordFields } from '../method/record-fields.ts';
import { RECORD_VERSION } from '../results/record-schema.ts';
import { versions } from '../results/versions.ts';
import { jsonHash16 } from '../util/hash-file.ts';
import { round3 } from '../util/round.ts';
import { withOldNames } from '../util/options.ts';
import { cellIdentity } from './cell-identity.ts';
import { cellText } from './cell-text.ts';
import { extractRows, buildFeatureCell, imagesReadable, mergeFeatures, type ExtractedRows } from '../features/cell-features.ts';
import type { Method, MethodResult } from '../method/contract.ts';
import { openInputs } from './open.ts';

/** Cells to run: every backbone x every method on one dataset and split. */
export interface CellJob {
  backbones: readonly string[];
  dataset: string;
  dataRoot?: string;
  split: SplitSpec;
  methods: readonly Method[];
  /** The job's option values; each method picks its own keys. */
  options: Record<string, unknown>;
  open: Omit<OpenOptions, 'onDownload'>;
  batchSize: number;
  cache: boolean;
  /** Images methods continue from their run folder's checkpoint (finetune --resume). */
  resume?: boolean;
  resultsDir: string;
  /** Also write this view of the store in resultsDir: every record of the job's methods' tasks (probe.jsonl: the probes). */
  resultsFile?: string;
  /** Features of every image of the dataset, extracted once and shared by every split (sweeps). */
  wholeDataset?: boolean;
  /** Fields added to every record (a sweep's job_id and attempt). */
  tags?: Record<string, string | number>;
  /** The store file (results/records/<name>.jsonl) of one backbone's records; default `<run id>-<backbone index>`. */
  storeName?: (backbone: string) => string;
}

/** Callbacks the CLI turns into progress bars and notes; the library itself never prints. */
export interface CellEvents {
  onDataset?(ds: Dataset, split: Split): void;
  /** Images that could not be read had been drawn for train or val: the split was drawn again without them. */
  onRedrawn?(unreadable: number, split: Split): void;
  onDownload?(file: string, bytes: number, total: number | undefined): void;
  onBackbone?(backbone: string, runtime: string, layer: string, images: number, warnings: string[]): void;
  onProgress?(done: number, total: number): void;
  /** A method's own long stage (an images method's activations, training epochs). */
  onMethodProgress?(backbone: string, stage: string, done: number, total: number, status?: string): void;
  onMethodNote?(backbone: string, message: string): void;
  /** Something about the dataset the user should know (images with the same bytes under two classes). */
  onDatasetNote?(message: string): void;
  onExtracted?(backbone: string, imagesPerSecond: number, skipped: Skipped[], fromCache: boolean): void;
  onCacheInvalid?(reason: string): void;
  /** A line of the store that is not a valid record (file:line and why), met while writing the view. */
  onStoreProblem?(message: string): void;
}

export interface CellRunResult {
  runId: string;
  records: CellRecord[];
  resultsPath: string;
}

/**
 * The cell runner: opens the dataset, draws the split, gets each backbone's cached features (or, for methods that read
 * images themselves, checks the images can be read), hands them to every method and appends one record per (backbone,
 * method, evaluated set). Unreadable images are found by the first backbone's pass; if any had been drawn for train or
 * val, the split is drawn again without them (only the newly drawn images are read), so a split trains on exactly the
 * images it names. Records are written per backbone: a run killed later keeps the finished ones.
 */
export async function runCells(given: CellJob, events: CellEvents = {}): Promise<CellRunResult> {
  // Keyed on what the dataset is, not on the text typed: a path argument made absolute (and its content digest below).
  const job: CellJob = { ...given, dataset: canonicalDataset(given.dataset) };
  outsideDataset(job.resultsDir, '--results-dir', [job.dataset]);
  await ensureResultsDir(job.resultsDir);
  const { backbones, dataset: ds } = await openInputs({ backbones: job.backbones, card: job.open.card, dataset: job.dataset, dataRoot: job.dataRoot }, events.onDownload);
  const digest = await datasetDigest(ds);
  const copies = await crossLabelCopies(ds);
  if (copies.length) events.onDatasetNote?.(copiesNote(copies));
  const near = await crossLabelNearCopies(ds);
  if (near.length) events.onDatasetNote?.(nearCopiesNote(near));
  const src = splitSource(ds);
  const table = job.split.protocol === 'study' ? studyTable() : undefined;
  const unreadable = new Map<number, string>();
  let split = drawSplit(src, job.split, { table });
  events.onDataset?.(ds, split);
  const runId = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const records: CellRecord[] = [];
  let resultsPath = '';
  let saved: { hash: string; file: string } | undefined;
  for (const [b, resolved] of backbones.entries()) {
    const pass = await readPass(job, ds, resolved, (want) => [...new Set([...splitIndices(split), ...unreadable.keys(), ...want])], events);
    let feats: ExtractedRows;
    try {
      for (let more: number[] = []; ; ) {
        feats = await pass.read(more);
        const fresh = [...feats.unreadable].filter(([i]) => !unreadable.has(i));
        if (b > 0 && fresh.length > 0) {
          const [i, why] = fresh[0];
          throw new DataError(`${ds.samples[i].id} was read for ${backbones[0].name} but not for ${resolved.name} (${why}); the split cannot be the same for both.`);
        }
        for (const [i, why] of fresh) unreadable.set(i, why);
        const drawn = new Set([...split.train, ...split.val]);
        if (!fresh.some(([i]) => drawn.has(i))) break;
        split = drawSplit(src, job.split, { exclude: new Set(unreadable.keys()), table });
        events.onRedrawn?.(unreadable.size, split);
        more = splitIndices(split);
      }
    } finally {
      await pass.close();
    }
    events.onExtracted?.(resolved.name, feats.imagesPerSecond, feats.skipped, feats.fromCache);
    // Unreadable test images are left out of the sets they were in; the split file lists them.
    split = { ...split, tests: Object.fromEntries(Object.entries(split.tests).map(([k, v]) => [k, v.filter((i) => !unreadable.has(i))])) };
    if (!saved) {
      const left = [...unreadable.keys()].sort((x, y) => x - y);
      const hash = hashSplit(ds, split, left);
      saved = { hash, file: await saveSplit(job.resultsDir, hash, ds, split, left) };
      const leaks = await splitLeaks(ds, split);
      if (leaks.length) events.onDatasetNote?.(leaksNote(leaks));
    }
    const done: CellRecord[] = [];
    const provenance = await provenanceOf(resolved, pass.card, job, pass.runtime);
    const text = cellText(pass.card, { threads: job.open.threads, device: job.open.device, strict: job.open.strict });
    try {
      for (const method of job.methods) {
        const options = Object.fromEntries(Object.keys(method.options).map((k) => [k, job.options[k]]));
        // Hashes see renamed options under their old names (withOldNames): the same cell keeps its folder and id.
        const dir = runDir(job, { dataset: job.dataset, split: saved.hash, backbone: resolved.name, model: modelSource(resolved.card), layer: job.open.layer ?? null, method: method.name, options: withOldNames(options, method.flags), batchSize: job.batchSize, seed: job.split.seed });
        const results =
          method.needs === 'features'
            ? await method.run({ ...buildFeatureCell(ds, resolved.name, split, feats, job.split.seed, dir), ...(text.text ? { text: text.text } : {}) }, options)
            : await method.run(
                {
                  dataset: ds,
                  backbone: resolved,
                  open: job.open,
                  batchSize: job.batchSize,
                  cache: job.cache,
                  seed: job.split.seed,
                  train: split.train,
                  val: split.val,
                  tests: Object.entries(split.tests).map(([name, idx]) => ({ name, idx })),
                  runDir: dir,
                  resume: job.resume ?? false,
                  onProgress: (stage, d, total, status) => events.onMethodProgress?.(resolved.name, stage, d, total, status),
                  onNote: (message) => events.onMethodNote?.(resolved.name, message),
                },
                options,
              );
        for (const r of results) {
          const rec = record(job, { ds, digest, runId, split, saved, resolved, pass, feats, method, options, provenance }, r);
          // Per-image predictions beside the store, one file per record, named by its cell and run.
          if (r.predictions) rec.predictions = await writePredictions(job.resultsDir, `${rec.cell_id}.${runId}`, ds.classes, r.predictions);
          done.push(rec);
        }
      }
    } finally {
      await text.close();
    }
    // A resumed run replaces the records of the run it continues (one store file per cell and settings), never adds a second.
    const resumed = job.resume ? `resume-${jsonHash16([job.dataset, saved.hash, resolved.name, job.methods.map((m) => m.name), withOldNames(job.options, Object.assign({}, ...job.methods.map((m) => m.flags))), job.batchSize, job.split.seed])}` : undefined;
    resultsPath = await writeJobRecords(job.resultsDir, job.storeName?.(resolved.name) ?? resumed ?? `${runId}-${b}`, done);
    if (job.resultsFile) {
      // The command's own file is a view of the store, written again whole: never a second source of truth.
      const tasks = new Set(job.methods.map((m) => m.task));
      resultsPath = join(job.resultsDir, job.resultsFile);
      const { problems } = await writeView(job.resultsDir, resultsPath, (r) => tasks.has(r.task));
      for (const p of problems) events.onStoreProblem?.(problemLine(p));
    }
    records.push(...done);
  }
  return { runId, records, resultsPath };
}

/** One backbone's pass over the images: features when a method needs them, else a check that the images can be read. */
interface ReadPass {
  runtime: string;
  layer: string;
  card: Card;
  /** Read what the split needs now (plus `more`), reusing what was read before; returns everything read so far. */
  read(more: number[]): Promise<ExtractedRows>;
  close(): Promise<void>;
}

async function readPass(job: CellJob, ds: Dataset, resolved: ResolvedBackbone, wanted: (more: number[]) => number[], events: CellEvents): Promise<ReadPass> {
  const opt = { cache: job.cache, batchSize: job.batchSize, whole: job.wholeDataset, onProgress: events.onProgress, onCacheInvalid: events.onCacheInvalid };
  /** Reads only the images not read before, and keeps everything read so far. */
  const accumulate = (fetch: (indices: number[]) => Promise<ExtractedRows>) => {
    let feats: ExtractedRows | undefined;
    return async (more: number[]) => {
      const all = wanted(more).sort((x, y) => x - y);
      const todo = feats ? all.filter((i) => !feats!.rowOf.has(i) && !feats!.unreadable.has(i)) : all;
      if (feats && todo.length === 0) return feats;
      const next = await fetch(todo);
      return (feats = feats ? mergeFeatures(feats, next) : next);
    };
  };
  if (!job.methods.some((m) => m.needs === 'features')) {
    const layer = featureName(resolved.card);
    events.onBackbone?.(resolved.name, 'image check', layer, wanted([]).length, []);
    return {
      runtime: 'none (the methods run the backbone)',
      layer,
      card: resolved.card,
      read: accumulate((todo) => imagesReadable(resolved.card, ds, todo, opt)),
      close: async () => undefined,
    };
  }
  const bb = await openResolved(resolved, job.open);
  events.onBackbone?.(resolved.name, bb.runtime, bb.tap, wanted([]).length, bb.warnings ?? []);
  return { runtime: bb.runtime, layer: bb.tap, card: bb.card, read: accumulate((todo) => extractRows(bb, resolved.name, ds, todo, opt)), close: () => bb.dispose() };
}

/**
 * What ran, beyond the shared fields: the weights' sha256, the preprocessing the card applied, the threads and the
 * machine (the instruction sets that change numeric kernels). Every record of a backbone carries it.
 */
async function provenanceOf(resolved: ResolvedBackbone, card: Card, job: CellJob, runtimeOf: string): Promise<Record<string, unknown>> {
  return {
    weights_sha256: await weightsDigest(resolved).catch(() => null),
    ...(resolved.files?.text ? { text_weights_sha256: await fileDigest(resolved.files.text).catch(() => null) } : {}),
    preprocess: { ...card.preprocess, input: card.input },
    threads: job.open.threads ?? availableParallelism(),
    // What ran, not what was asked: a cuda request that fell back says cpu in its runtime.
    device: /\bcuda\b/i.test(runtimeOf) ? 'cuda' : 'cpu',
    hardware: hardwareSummary(),
  };
}

interface RecordContext {
  ds: Dataset;
  /** datasetDigest(ds) */
  digest: string;
  runId: string;
  split: Split;
  saved: { hash: string; file: string };
  resolved: ResolvedBackbone;
  pass: ReadPass;
  feats: ExtractedRows;
  method: Method;
  options: Record<string, unknown>;
  provenance: Record<string, unknown>;
}

function record(job: CellJob, c: RecordContext, r: MethodResult): CellRecord {
  const [runtime, layer, model] = [r.runtime ?? c.pass.runtime, r.layer ?? c.pass.layer, modelSource(c.pass.card)];
  const n = (idx: readonly number[]) => idx.filter((i) => c.feats.rowOf.has(i)).length;
  const ids = cellIdentity({ dataset: job.dataset, datasetDigest: c.digest, splitHash: c.saved.hash, split: job.split, model, layer, runtime, method: c.method.name, options: withOldNames(c.options, c.method.flags), evalSplit: r.eval_split, ...(c.method.needs === 'images' ? { batchSize: job.batchSize } : {}) });
  const shared: CellFields = {
    schema_version: RECORD_VERSION,
    run_id: c.runId,
    ...ids,
    task: c.method.task,
    method: c.method.name,
    backbone: c.resolved.name,
    model,
    layer,
    runtime,
    dataset: job.dataset,
    dataset_digest: c.digest,
    protocol: job.split.protocol,
    shots: job.split.shots,
    seed: job.split.seed,
    split_hash: c.saved.hash,
    split_file: c.saved.file,
    eval_split: r.eval_split,
    metric: r.metric,
    value: r.value,
    n_train: n(c.split.train),
    n_val: n(c.split.val),
    n_test: n(c.split.tests[r.eval_split] ?? []),
    n_classes: c.ds.classes.length,
    skipped_images: c.feats.skipped.length,
    features_key: c.feats.key,
    features_from_cache: c.feats.fromCache,
    extract_seconds: round3(c.feats.seconds),
    images_per_second: round3(c.feats.imagesPerSecond),
    fit_seconds: r.fit_seconds,
    versions: versions(),
    time: new Date().toISOString(),
    presentation: c.method.presentation,
  };
  // A method's own fields may not take a shared field's name.
  const clash = Object.keys(r.fields).filter((k) => k in shared || k in (job.tags ?? {}) || k in c.provenance);
  if (clash.length) throw new Error(`method ${c.method.name} returns fields that every record has: ${clash.join(', ')}`);
  // And only the fields it declares, of their declared types (strict: the declaration cannot drift from what is written).
  checkRecordFields(c.method, r.fields);
  return { ...shared, ...c.provenance, ...job.tags, ...r.fields };
}

/** results/runs/<16 hex of what the cell is>: the same cell and settings find their folder again (to resume). */
function runDir(job: CellJob, what: Record<string, unknown>): string {
  return join(job.resultsDir, 'runs', jsonHash16(what));
}

function modelSource(card: Card): string {
  const s = card.source;
  if (s.kind === 'hub') return `hub:${s.repo}/${s.file}@${s.revision ?? 'main'}`;
  return s.kind === 'file' ? `file:${s.path}` : `nsfwjs:${s.model}`;
}
