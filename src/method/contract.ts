import type { Assignments, Predictions } from './predictions.ts';
import type { TextEncoder } from '../backbones/text-encoder.ts';
import type { z } from 'zod';
import type { OpenOptions, ResolvedBackbone } from '../backbones/registry.ts';
import type { Dataset } from '../data/types.ts';
import type { Matrix } from '../util/matrix.ts';
import type { FlagSpec } from '../util/options.ts';
import type { Presentation } from './presentation.ts';

/** Features and labels of one part of a cell's split, with the dataset indices of its rows. */
export interface CellPart {
  x: Matrix;
  y: Int32Array;
  idx: number[];
}

/** What a features method gets: the dataset, and the features of train, val and each evaluated set (unreadable images left out). */
export interface FeatureCell {
  dataset: Dataset;
  /** The backbone's name, for titles: features methods never touch the backbone itself. */
  backbone: string;
  /** This cell's own folder (results/runs/<id>): plots, coordinates. */
  runDir: string;
  /** The job's seed (the split's): seeds the method's own random choices too. */
  seed: number;
  train: CellPart;
  val: CellPart;
  tests: { name: string; part: CellPart }[];
  /** The backbone's text tower with its tokenizer, opened on first use; absent when the card has none (CLIP has one). */
  text?: (opt: { tokenizer?: string }) => Promise<TextEncoder>;
}

/** What an images method gets: the dataset, the backbone to build on, and the split as dataset indices (readable images only). */
export interface ImageCell {
  dataset: Dataset;
  backbone: ResolvedBackbone;
  open: Omit<OpenOptions, 'onDownload'>;
  batchSize: number;
  /** The job's seed (the split's): seeds the method's own random choices too. */
  seed: number;
  /** Whether the method may read and write the feature cache (for what it computes through a backbone). */
  cache: boolean;
  train: number[];
  val: number[];
  tests: { name: string; idx: number[] }[];
  /** This cell's own folder (results/runs/<id>): curves, checkpoints; the same cell and settings get the same folder. */
  runDir: string;
  /** Continue from what runDir holds instead of starting over. */
  resume: boolean;
  /** Progress of a long stage (`activations`, `train`), with a short status line. */
  onProgress?(stage: string, done: number, total: number, status?: string): void;
  /** Something the user should know (a resumed run, a cache entry not used). */
  onNote?(message: string): void;
}

/** One evaluated set's result: the shared `metric`/`value`, the method's own fields, and its fit time. */
export interface MethodResult {
  eval_split: string;
  metric: string;
  value: number;
  fit_seconds: number;
  /** Method-specific record fields, flat beside the shared ones (a probe: accuracy, val_accuracy, chosen, ...), as its `recordFields` declare them; they may not reuse a shared field's name. */
  fields: Record<string, unknown>;
  /** Per image of the set: the test predictions (classification) or cluster assignments, written beside the record. */
  predictions?: Predictions | Assignments;
  /** What ran, when the method runs the backbone itself (images methods): records' `runtime` and `layer`. */
  runtime?: string;
  layer?: string;
}

interface MethodCommon {
  name: string;
  /** The family it belongs to, in records' `task`: `probe`. */
  task: string;
  /** The CLI command that runs it (`probe`, `finetune`, `cluster`, `zeroshot`); one no bespoke command implements is built from its options (cli/method-command.ts). */
  command: string;
  summary: string;
  options: z.ZodRawShape;
  flags: Record<string, FlagSpec>;
  /** How the report shows its records (column stem, order, table family); written into each record. */
  presentation: Presentation;
  /**
   * The fields its results write beside the shared ones (MethodResult.fields), each with its meaning (`.describe`):
   * checked when a record is written, undeclared ones refused (method/record-fields.ts); a table of docs/results.md.
   */
  recordFields: z.ZodRawShape;
}

/**
 * A method plugged into the cell runner (jobs/run-cells.ts). The runner opens the dataset, draws the split (without
 * unreadable images), writes the records; the method gets either the cell's cached features (`needs: 'features'`:
 * probes, clustering) or the backbone and the images (`needs: 'images'`: fine-tuning, explanation maps) and returns one
 * result per evaluated set. Its options are a zod shape with defaults (the one home of those defaults) and their flags.
 */
export type Method =
  | (MethodCommon & { needs: 'features'; run(cell: FeatureCell, options: Record<string, unknown>): Promise<MethodResult[]> })
  | (MethodCommon & { needs: 'images'; run(cell: ImageCell, options: Record<string, unknown>): Promise<MethodResult[]> });

export type ImagesMethod = Extract<Method, { needs: 'images' }>;
export type FeaturesMethod = Extract<Method, { needs: 'features' }>;
