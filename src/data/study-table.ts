import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const TableSchema = z.record(
  z.string(),
  z.object({
    pool: z.object({ size: z.number().int().positive(), valSize: z.number().int().positive().optional(), note: z.string() }),
    /** train:val:test drawn from the pool, or train:val drawn from the official train and val sets (WILDS). */
    rows: z.record(z.string().regex(/^\d+$/), z.union([z.tuple([z.number().int(), z.number().int(), z.number().int()]), z.tuple([z.number().int(), z.number().int()])])),
  }),
);
export type StudyTable = z.infer<typeof TableSchema>;

/** configs/splits/study.yaml: the study's split table, as data. */
export function studyTable(): StudyTable {
  const path = join(import.meta.dirname, '..', '..', 'configs', 'splits', 'study.yaml');
  return TableSchema.parse(parse(readFileSync(path, 'utf8')));
}
