import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * One cell of a published table (configs/published/study-001.csv): where it was printed (`table`, its `row`, the paper's
 * dataset and model names), what it measures in reprobe's terms (dataset, backbone id, method, shots, evaluated set:
 * `test`, `id_test`, `ood_test`, `all` for clustering, `id_minus_ood` for a printed difference) and its value as printed.
 * `derived` cells (a best, a difference, an order) are the paper's arithmetic on its measured ones.
 */
const CellSchema = z.object({
  table: z.string().min(1),
  family: z.string().min(1),
  row: z.coerce.number().int().nonnegative(),
  dataset: z.string().min(1),
  study_dataset: z.string().min(1),
  model: z.string().min(1),
  study_model: z.string().min(1),
  method: z.string().min(1),
  shots: z.coerce.number().int().nonnegative(),
  set: z.string().min(1),
  metric: z.string().min(1),
  classes: z.coerce.number().int().positive(),
  kind: z.enum(['measured', 'derived']),
  /** As printed (`0.0110929`, `-0.00`); empty for an order. */
  value: z.string(),
  /** An order as printed (`1000>100>lr_100`); empty otherwise. */
  text: z.string(),
});
export type PublishedCell = z.infer<typeof CellSchema>;

/** The name `--against study` reads: the study's tables, seed 001. */
export const STUDY_TABLES = 'study-001.csv';

/** A published table file's text (`#` lines are comments) → its cells; a bad row is one line naming the file, row and field. */
export function parsePublished(text: string, file: string): PublishedCell[] {
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, comment: '#', skip_empty_lines: true, bom: true, trim: true }) as Record<string, string>[];
  } catch (err) {
    throw new ConfigError(`${file} is not a valid CSV: ${(err as Error).message.split('\n')[0]}`);
  }
  return rows.map((r, i) => {
    const got = CellSchema.safeParse(r);
    if (!got.success) {
      const issue = got.error.issues[0];
      throw new ConfigError(`${file}: row ${i + 1}: ${issue.path.join('.') || 'row'}: ${issue.message}. Columns: ${Object.keys(CellSchema.shape).join(', ')}.`);
    }
    if (got.data.method !== 'order' && !Number.isFinite(Number(got.data.value))) throw new ConfigError(`${file}: row ${i + 1}: value "${got.data.value}" is not a number.`);
    return got.data;
  });
}

/** A published cell's number (NaN for an order). */
export const publishedValue = (c: PublishedCell) => (c.value === '' ? NaN : Number(c.value));
