import type { z } from 'zod';
import type { Dataset } from '../data/types.ts';
import type { Matrix } from '../util/matrix.ts';
import type { FlagSpec } from '../util/options.ts';

/** Features and labels of one part of a cell's split, with the dataset indices of its rows. */
export interface CellPart {
  x: Matrix;
  y: Int32Array;
  idx: number[];
}

/** What a features method gets: the dataset, and the features of train, val and each evaluated set (unreadable images left out). */
export interface FeatureCell {
  dataset: Dataset;
  train: CellPart;
  val: CellPart;
  tests: { name: string; part: CellPart }[];
}

/** One evaluated set's result: the shared `metric`/`value`, the method's own fields, and its fit time. */
export interface MethodResult {
  eval_split: string;
  metric: string;
  value: number;
  fit_seconds: number;
  /** Method-specific record fields, flat beside the shared ones (a probe: accuracy, val_accuracy, chosen, ...). */
  fields: Record<string, unknown>;
}

/**
 * A method plugged into the cell runner (jobs/run-cells.ts): it gets a cell's cached features and returns one result
 * per evaluated set; the runner opens the dataset, draws the split, extracts and writes the records. Its options are a
 * zod shape with defaults (the one home of those defaults) and their flags.
 */
export interface Method {
  name: string;
  /** The family it belongs to, in records' `task`: `probe`. */
  task: string;
  summary: string;
  options: z.ZodRawShape;
  flags: Record<string, FlagSpec>;
  run(cell: FeatureCell, options: Record<string, unknown>): Promise<MethodResult[]>;
}
