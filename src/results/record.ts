import type { Presentation } from '../method/presentation.ts';
import type { Versions } from './versions.ts';

/**
 * The fields every result record shares, whatever the method: one record per (cell, evaluated set), where a cell is
 * (dataset, split, backbone, method, options, seed). Flat, so pandas.read_json(lines=True) gives columns; each method
 * adds its own fields beside these (a probe: accuracy, val_accuracy, chosen, ...).
 */
export interface CellFields {
  /** The record layout's version (record-schema.ts): a reader migrates older ones. */
  schema_version: number;
  /** One id per command run: records of a rerun are told apart from the first run's. */
  run_id: string;
  /** Hash of what determines the number (dataset, split, seed, backbone, layer, runtime, method and its options, set): equal ids, comparable records; see cellIdentity. */
  cell_id: string;
  /** Hash of the same without the seed and its split: the records a report averages over seeds share it. */
  config_id: string;
  /** The method's family (`probe`) and the registered method (`knn`, `lr`). */
  task: string;
  method: string;
  backbone: string;
  /** Where the weights came from: `hub:<repo>/<file>@<revision>`, `file:<path>` or `nsfwjs:<model>`. */
  model: string;
  layer: string;
  runtime: string;
  dataset: string;
  /** 16 hex of the dataset's content (classes, and each image's id, label and bytes): see datasetDigest. */
  dataset_digest?: string;
  protocol: 'shots' | 'study';
  shots: number;
  seed: number;
  split_hash: string;
  /** results/splits/<split_hash>.json: the image ids of train, val and every test set. */
  split_file: string;
  /** Which evaluated set: `test`, or WILDS' `id_test` / `ood_test`. */
  eval_split: string;
  /** The dataset's headline metric, held in `value`: accuracy, or macro-F1 for iWildCam. */
  metric: string;
  value: number;
  n_train: number;
  n_val: number;
  n_test: number;
  n_classes: number;
  skipped_images: number;
  /** Key of the cached feature matrix ($REPROBE_HOME/features/<key>.npy), null with --no-cache. */
  features_key: string | null;
  /** True when the features were read from the cache rather than extracted in this run. */
  features_from_cache: boolean;
  extract_seconds: number;
  images_per_second: number;
  fit_seconds: number;
  versions: Versions;
  time: string;
  /** How the report shows the record (column stem, order, table family), as its method declares; older records lack it. */
  presentation?: Presentation;
}

export type CellRecord<P extends object = Record<string, unknown>> = CellFields & P;

export type { ConfusedPair } from '../method/output-options.ts';
export { presentationByDefault, type Presentation } from '../method/presentation.ts';
