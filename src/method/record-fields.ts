import { z } from 'zod';

/**
 * The record fields several methods write, declared once and spread into each method's `recordFields`, so one field
 * has one meaning (its description is its row in docs/results.md, scripts/reference-docs.ts). The runner checks a
 * method's fields against its shape when it writes a record (checkRecordFields); reading a store does not (old records
 * with fields since dropped still read).
 */

/** NaN (a score over no images) and Infinity (no finite validation loss): numbers in memory, null in the JSON. */
const notFinite = z.custom<number>((v) => typeof v === 'number' && !Number.isFinite(v), 'expected a number').describe('null (not finite)');

/** A number that may not be finite (written as null). */
export const measured = (meaning: string) => z.union([z.number(), notFinite]).describe(meaning);

/** classificationScores (metrics/scores.ts) less the headline, which is the record's `metric` and `value`. */
export const CLASSIFICATION_FIELDS = {
  accuracy: measured('share of the evaluated images predicted right'),
  balanced_accuracy: measured('recall averaged over the classes present in the truth (scikit-learn’s balanced_accuracy_score)'),
  macro_f1: measured('F1 averaged over the classes in truth or predictions (scikit-learn’s default); the headline of iWildCam is over the true classes'),
  collapsed: z.boolean().describe('every prediction is one class while the truth holds several: a degenerate model, flagged'),
  group_field: z.string().optional().describe('the metadata field of the groups (FMoW: `region`); datasets with groups only'),
  worst_group_accuracy: measured('the lowest accuracy over the groups (WILDS leaves out FMoW’s Other region)').optional(),
};

/** Probes and fine-tuning choose on the validation split. */
export const VAL_ACCURACY_FIELD = {
  val_accuracy: measured('accuracy on the validation split at what was chosen (hyper-parameters, or the best epoch); null without validation images'),
};

/** What the trainer (src/train/) reports, for fine-tuning and PRO. */
export const TRAINING_FIELDS = {
  epochs_run: z.number().int().nonnegative().describe('epochs trained (0: nothing to train on)'),
  best_epoch: z.number().int().nonnegative().describe('the epoch of the lowest validation loss, whose weights were kept and scored'),
  tf_backend: z.string().describe('the tfjs backend that trained (tensorflow, wasm, cpu)'),
};

const strict = new WeakMap<z.ZodRawShape, z.ZodObject>();

/**
 * A method's own fields about to go into a record, checked against its declared `recordFields`: a field it does not
 * declare or of another type is a bug in reprobe (the method or its declaration), a thrown Error naming both.
 */
export function checkRecordFields(method: { name: string; recordFields: z.ZodRawShape }, fields: Record<string, unknown>): void {
  let schema = strict.get(method.recordFields);
  if (!schema) strict.set(method.recordFields, (schema = z.object(method.recordFields).strict()));
  const out = schema.safeParse(fields);
  if (out.success) return;
  const issues = out.error.issues.slice(0, 3).map((i) => (i.code === 'unrecognized_keys' ? `${i.keys.map((k) => [...i.path, k].join('.')).join(', ')}: not declared` : `${i.path.join('.')}: ${i.message}`));
  throw new Error(`method ${method.name} returns record fields that do not fit its recordFields: ${issues.join('; ')}`);
}
