import { z } from 'zod';
import { PresentationSchema } from '../method/presentation.ts';
import { jsonHash16 } from '../util/hash-file.ts';
import type { CellRecord } from './record.ts';

/** The version of the record layout written now; records without one (written before it existed) are version 0. */
export const RECORD_VERSION = 1;

const VersionsSchema = z
  .object({
    reprobe: z.string().describe("reprobe's version (package.json)"),
    commit: z.string().nullable().describe('the git commit the code ran from; null outside a checkout'),
    dirty: z.boolean().nullable().describe('the checkout differed from the commit (changed or added files): the number was made by changed code; null: unknown (version 0 records)'),
    diff_sha256: z.string().nullable().describe('sha256 of that difference: two dirty records with one hash ran the same code; null when clean'),
    node: z.string().describe("Node's version"),
    onnxruntime: z.string().describe("onnxruntime-node's version"),
    tfjs: z.string().describe("tfjs' version"),
    sharp: z.string().describe("sharp's version (image decoding)"),
  })
  .passthrough();

/** JSON has no NaN: a number that was not finite (a metric over an empty set) reads back as null. */
const num = z.number().nullable();
const count = z.number().int().nonnegative();

/**
 * The fields every record shares (record.ts), checked when a record is written and when it is read; a method's own
 * fields pass through beside them. A record that fails is reported by file and line, never used in part. Each field's
 * description is its row in docs/results.md (scripts/reference-docs.ts).
 */
export const RecordSchema = z
  .object({
    schema_version: z.literal(RECORD_VERSION).describe("the record layout's version; records without one (version 0) are migrated when read"),
    run_id: z.string().min(1).describe("one id per command run: a rerun's records are told apart from the first run's"),
    cell_id: z.string().min(1).describe('hash of what determines the number (dataset and its content digest, the split drawn and how it was asked for, the seed, model, layer, runtime, method and its options, evaluated set): records with one id are comparable'),
    config_id: z.string().min(1).describe('the same without the seed and the split it drew: the records a report averages over seeds share it'),
    task: z.string().min(1).describe("the method's family: `probe`, `finetune`, `cluster`, `zeroshot`"),
    method: z.string().min(1).describe('the registered method (docs/methods.md): `knn`, `lr`, `finetune`, `cluster`, …'),
    backbone: z.string().min(1).describe('the backbone as named (a card id, or a model path)'),
    model: z.string().describe('where the weights came from: `hub:<repo>/<file>@<revision>`, `file:<path>` or `nsfwjs:<model>`'),
    layer: z.string().describe("the layer whose output is the feature (the card's tap unless `--layer`)"),
    runtime: z.string().describe('what ran the backbone (onnxruntime, tfjs; fine-tuning: the frozen part → tfjs and its backend)'),
    dataset: z.string().min(1).describe("the dataset's canonical name (a path argument made absolute)"),
    dataset_digest: z.string().optional().describe("16 hex of the dataset's content: classes, and each image's id, label and bytes"),
    protocol: z.enum(['shots', 'study']).describe("`shots`: k training images per class; `study`: the study's split table"),
    shots: count.describe("training images per class (the study's shot level with protocol study; 0 for clustering and zero-shot)"),
    seed: z.number().int().describe('the seed of the split and of every random state of the cell (UMAP, k-means, the bootstrap, training)'),
    split_hash: z.string().min(1).describe("hash of the split's image ids, labels and unreadable images"),
    split_file: z.string().describe('`results/splits/<split_hash>.json`: the image ids of train, val and every test set'),
    eval_split: z.string().min(1).describe("the evaluated set: `test`, WILDS' `id_test` / `ood_test`, or `all` (clustering)"),
    metric: z.string().min(1).describe("the dataset's headline metric, held in `value`: accuracy, macro-F1 for iWildCam, ARI for clustering"),
    value: num.describe("the headline metric's value (null: not finite, a metric over no images)"),
    n_train: count.describe('training images used (readable ones)'),
    n_val: count.describe('validation images used'),
    n_test: count.describe('images of the evaluated set'),
    n_classes: count.describe("the dataset's classes"),
    skipped_images: count.describe('images that could not be read, left out'),
    features_key: z.string().nullable().describe('key of the cached feature matrix (`$REPROBE_HOME/features/<key>.npy`); null with `--no-cache` or a method that reads images'),
    features_from_cache: z.boolean().describe('the features were read from the cache, not extracted in this run'),
    extract_seconds: num.describe('seconds spent extracting features'),
    images_per_second: num.describe('extraction throughput'),
    fit_seconds: num.describe("seconds the method's fit (and scoring) took"),
    versions: VersionsSchema.describe('what ran: library versions and the git state'),
    time: z.string().datetime().describe('when the record was written (ISO 8601, UTC)'),
    predictions: z.string().optional().describe('`results/predictions/<cell id>.<run id>.json`: per-image predictions (classification) or cluster assignments'),
    presentation: PresentationSchema.optional().describe("how the report shows the record, as its method declares (below); records written before it existed get their method's when read"),
  })
  .passthrough()
  .superRefine(inRange);

/**
 * The ranges of the scores records hold, by metric name (a record's `value` by its `metric`, and the fields of the same
 * name): a share of images or an F1 is in [0, 1]; the adjusted Rand index in [-1, 1] (its least value is -0.5,
 * Chacón & Rastrojo 2022; -1 leaves room). A hand-edited 7 or -5 is refused, never shown as the best.
 */
const RANGES: Record<string, readonly [number, number]> = {
  accuracy: [0, 1],
  macro_f1: [0, 1],
  balanced_accuracy: [0, 1],
  val_accuracy: [0, 1],
  worst_group_accuracy: [0, 1],
  step0_accuracy: [0, 1],
  nmi: [0, 1],
  ari: [-1, 1],
};

/** Metrics whose `value` is the field of the same name, copied. */
const COPIED_METRICS = new Set(['accuracy', 'ari']);

function inRange(r: { metric: string; value: number | null } & Record<string, unknown>, ctx: z.RefinementCtx): void {
  const check = (key: string, metric: string, v: unknown) => {
    const range = RANGES[metric];
    // Rounding leaves sums of shares a few ulps past 1 (an NMI of 1.0000000000000004): 1e-9 of slack. NaN is a score
    // over no images (no validation set), written as null.
    if (range && typeof v === 'number' && !Number.isNaN(v) && !(v >= range[0] - 1e-9 && v <= range[1] + 1e-9)) ctx.addIssue({ code: 'custom', path: [key], message: `${metric} ${v} is outside [${range[0]}, ${range[1]}]` });
  };
  check('value', r.metric, r.value);
  for (const key of Object.keys(RANGES)) if (key in r) check(key, key, r[key]);
  // Where `value` is a copy of the field its metric names, a value edited by hand (or a line with `value` twice, which
  // JSON.parse reads as the last) disagrees with it and is refused rather than shown. Not for macro_f1: the headline
  // is WILDS' F1 over the classes in the truth, the field scikit-learn's over truth and predictions (metrics/scores.ts).
  const named = COPIED_METRICS.has(r.metric) ? r[r.metric] : undefined;
  if (typeof named === 'number' && typeof r.value === 'number' && named !== r.value && !(Number.isNaN(named) && Number.isNaN(r.value))) {
    ctx.addIssue({ code: 'custom', path: ['value'], message: `value ${r.value} disagrees with the record's ${r.metric} ${named}` });
  }
}

/**
 * Version 0 → 1: provenance without a dirty flag is unknown (null), not clean; the cell id of version 0 left out the
 * seed for the feature methods, so it is hashed again with the seed (the old one kept as `cell_id_v0`).
 */
function migrate(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.schema_version !== undefined) return raw;
  const v = raw.versions && typeof raw.versions === 'object' ? (raw.versions as Record<string, unknown>) : raw.versions;
  const versions = v && typeof v === 'object' ? { dirty: null, diff_sha256: null, ...v } : v;
  const cell = typeof raw.cell_id === 'string' ? { cell_id: jsonHash16([raw.cell_id, raw.seed]), cell_id_v0: raw.cell_id } : {};
  return { ...raw, ...cell, versions, schema_version: RECORD_VERSION };
}

/** The first problem of a failed check, as one line: `versions.dirty: Expected boolean, received string`. */
const firstIssue = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).slice(0, 3).join('; ');

/** A record about to be written: checked, or a thrown Error naming the field (a bug in reprobe or a method). */
export function checkedRecord(r: CellRecord): CellRecord {
  const out = RecordSchema.safeParse(r);
  if (!out.success) throw new Error(`result record of ${r.method} (${r.backbone} on ${r.dataset}) does not fit the record schema: ${firstIssue(out.error)}`);
  return out.data as unknown as CellRecord;
}

/** A line of a records file: the record (migrated to the current version), or why it is not one. */
export function parseRecordLine(line: string): { record: CellRecord } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { error: 'not JSON (a torn or foreign line)' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'not a JSON object' };
  const out = RecordSchema.safeParse(migrate(raw as Record<string, unknown>));
  return out.success ? { record: out.data as unknown as CellRecord } : { error: firstIssue(out.error) };
}
