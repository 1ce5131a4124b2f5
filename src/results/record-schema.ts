import { z } from 'zod';
import { jsonHash16 } from '../util/hash-file.ts';
import type { CellRecord } from './record.ts';

/** The version of the record layout written now; records without one (written before it existed) are version 0. */
export const RECORD_VERSION = 1;

const VersionsSchema = z
  .object({ reprobe: z.string(), commit: z.string().nullable(), dirty: z.boolean().nullable(), diff_sha256: z.string().nullable(), node: z.string(), onnxruntime: z.string(), tfjs: z.string(), sharp: z.string() })
  .passthrough();

/** JSON has no NaN: a number that was not finite (a metric over an empty set) reads back as null. */
const num = z.number().nullable();
const count = z.number().int().nonnegative();

/**
 * The fields every record shares (record.ts), checked when a record is written and when it is read; a method's own
 * fields pass through beside them. A record that fails is reported by file and line, never used in part.
 */
export const RecordSchema = z
  .object({
    schema_version: z.literal(RECORD_VERSION),
    run_id: z.string().min(1),
    cell_id: z.string().min(1),
    config_id: z.string().min(1),
    task: z.string().min(1),
    method: z.string().min(1),
    backbone: z.string().min(1),
    model: z.string(),
    layer: z.string(),
    runtime: z.string(),
    dataset: z.string().min(1),
    dataset_digest: z.string().optional(),
    protocol: z.enum(['shots', 'study']),
    shots: count,
    seed: z.number().int(),
    split_hash: z.string().min(1),
    split_file: z.string(),
    eval_split: z.string().min(1),
    metric: z.string().min(1),
    value: num,
    n_train: count,
    n_val: count,
    n_test: count,
    n_classes: count,
    skipped_images: count,
    features_key: z.string().nullable(),
    features_from_cache: z.boolean(),
    extract_seconds: num,
    images_per_second: num,
    fit_seconds: num,
    versions: VersionsSchema,
    time: z.string().datetime(),
    /** results/predictions/<cell id>.<run id>.json: per-image predictions or cluster assignments. */
    predictions: z.string().optional(),
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

function inRange(r: { metric: string; value: number | null } & Record<string, unknown>, ctx: z.RefinementCtx): void {
  const check = (key: string, metric: string, v: unknown) => {
    const range = RANGES[metric];
    // Rounding leaves sums of shares a few ulps past 1 (an NMI of 1.0000000000000004): 1e-9 of slack. NaN is a score
    // over no images (no validation set), written as null.
    if (range && typeof v === 'number' && !Number.isNaN(v) && !(v >= range[0] - 1e-9 && v <= range[1] + 1e-9)) ctx.addIssue({ code: 'custom', path: [key], message: `${metric} ${v} is outside [${range[0]}, ${range[1]}]` });
  };
  check('value', r.metric, r.value);
  for (const key of Object.keys(RANGES)) if (key in r) check(key, key, r[key]);
  // `value` is a copy of the field its metric names: a value edited by hand (or a line with `value` twice, which
  // JSON.parse reads as the last) disagrees with it and is refused rather than shown.
  const named = r[r.metric];
  if (r.metric !== 'value' && typeof named === 'number' && typeof r.value === 'number' && named !== r.value && !(Number.isNaN(named) && Number.isNaN(r.value))) {
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
