import { z } from 'zod';

/**
 * How a method's records are shown, declared by the method (its folder) and written into each record, so the report
 * builds its columns and tables from the records and never names a method. Records written before it existed get it
 * from the method registry when read (jobs/methods.ts, withPresentation).
 */
export const PresentationSchema = z
  .object({
    /** Column stem in the study tables: `knn`, `lr`, `ft`, `zs` (columns `<stem>_<shots>`). */
    column: z.string().min(1),
    /** Place among the columns of its family, lower first; equal orders sort by method name. */
    order: z.number().int().nonnegative(),
    /** Which tables show it: the study's classification tables, or the clustering ranking by ARI. */
    family: z.enum(['classification', 'clustering']),
    /** Whether its column names the shots: false for a method that trains on nothing (one `zs` column). */
    shots: z.boolean(),
    /** A record field telling its runs apart, shown in the column when the records hold several values (`ft[head]_10`). */
    variant: z.string().min(1).optional(),
    /** How it orders a study table's rows: `best` (by "Best performance", wherever it is in the table) or `column` (by its column of the most shots, when no `best` method is there). */
    ranks: z.enum(['best', 'column']).optional(),
    /** Its records name a training curve (`curve`, `best_epoch`), drawn in the curves section. */
    curves: z.boolean().optional(),
    /** How the published study prints its column stem in a performance order, when not as `column`: '' (bare shots, `1000>100>lr_100`). */
    printed: z.string().optional(),
    /**
     * Its row in the k-shot curve (methods scored on embeddings with and without training images): the row's label and
     * place; `start` names the field holding its untrained score, shown at 0 shots when no method without shots is there.
     */
    kshot: z.object({ label: z.string().min(1), order: z.number().int().nonnegative(), start: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

export type Presentation = z.infer<typeof PresentationSchema>;

/** What a record of a method that declares nothing (or is not registered) is shown as: its name as the column, after the others. */
export const presentationByDefault = (method: string): Presentation => ({ column: method, order: 1000, family: 'classification', shots: true });
