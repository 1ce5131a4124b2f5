import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Versions } from './versions.ts';

/** One result cell: (backbone, dataset, split, probe, seed). Flat fields so pandas.read_json(lines=True) gives columns. */
export interface ProbeRecord {
  task: 'probe';
  backbone: string;
  /** Where the weights came from: `hub:<repo>/<file>@<revision>`, `file:<path>` or `nsfwjs:<model>`. */
  model: string;
  layer: string;
  runtime: string;
  dataset: string;
  protocol: 'shots' | 'study';
  shots: number;
  seed: number;
  probe: string;
  /** Which test set: `test`, or WILDS' `id_test` / `ood_test`. */
  eval_split: string;
  /** The dataset's headline metric, held in `value`: accuracy, or macro-F1 for iWildCam. */
  metric: 'accuracy' | 'macro_f1';
  value: number;
  accuracy: number;
  val_accuracy: number;
  balanced_accuracy: number;
  macro_f1: number;
  /** Datasets with groups (FMoW regions): the group field and the lowest per-group accuracy. */
  group_field?: string;
  worst_group_accuracy?: number;
  chosen: Record<string, number | string>;
  n_train: number;
  n_val: number;
  n_test: number;
  n_classes: number;
  skipped_images: number;
  split_hash: string;
  /** results/splits/<split_hash>.json: the image ids of train, val and every test set. */
  split_file: string;
  /** Key of the cached feature matrix ($REPROBE_HOME/features/<key>.npy), null with --no-cache. */
  features_key: string | null;
  /** True when the features were read from the cache rather than extracted in this run. */
  features_from_cache: boolean;
  extract_seconds: number;
  images_per_second: number;
  fit_seconds: number;
  versions: Versions;
  time: string;
}

export const PROBE_RESULTS_FILE = 'probe.jsonl';

/** Append records as JSON lines in one write, so a killed run leaves whole lines only. */
export async function appendRecords(dir: string, records: readonly ProbeRecord[], file = PROBE_RESULTS_FILE): Promise<string> {
  const path = join(dir, file);
  await mkdir(dir, { recursive: true });
  await appendFile(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
  return path;
}
