import { z } from 'zod';

/**
 * How a method's records are shown, declared by the method (its folder) and written into each record, so the report
 * builds its columns and tables from the records and never names a method. Records written before it existed get it
 * from the method registry when read (jobs/methods.ts, withPresentation).
 * @public results/record-schema.ts checks records with it (knip 6 does not see that import).
 */
export const PresentationSchema = z
  .object({
    column: z.string().min(1).describe('column stem in the study tables: `knn`, `lr`, `ft`, `zs` (columns `<stem>_<shots>`)'),
    order: z.number().int().nonnegative().describe('place among the columns (or clustering methods) of its family, lower first; ties sort by method name'),
    family: z.enum(['classification', 'clustering']).describe("which tables show it: the study's classification tables, or the clustering ranking by ARI"),
    shots: z.boolean().describe('whether its column names the shots: false for a method that trains on nothing (one `zs` column)'),
    variant: z.string().min(1).optional().describe('a record field telling its runs apart, shown in the column when the records hold several values (`ft[head]_10`)'),
    ranks: z.enum(['best', 'column']).optional().describe("how it orders a study table's rows: `best` (by \"Best performance\") or `column` (by its column of the most shots, when no `best` method is there)"),
    curves: z.boolean().optional().describe('its records name a training curve (`curve`, `best_epoch`), drawn in the curves section'),
    printed: z.string().optional().describe("how the published study prints its column stem in a performance order, when not as its name: '' for bare shots (`1000>100>lr_100`)"),
    kshot: z
      .object({
        label: z.string().min(1).describe("the row's label"),
        order: z.number().int().nonnegative().describe("the row's place"),
        start: z.string().min(1).optional().describe('the field holding its untrained score, shown at 0 shots when no method without shots is there'),
      })
      .strict()
      .optional()
      .describe('its row in the k-shot curve (methods scored on embeddings with and without training images)'),
  })
  .strict();

export type Presentation = z.infer<typeof PresentationSchema>;

/** What a record of a method that declares nothing (or is not registered) is shown as: its name as the column, after the others. */
export const presentationByDefault = (method: string): Presentation => ({ column: method, order: 1000, family: 'classification', shots: true });
