import type { HeadlineMetric } from '../metrics/scores.ts';

/** Where one image's pixels come from: a file sharp can read, or raw 8-bit pixels already in memory. */
export type ImageSource =
  | { kind: 'file'; path: string }
  | { kind: 'raw'; data: Uint8Array; width: number; height: number; channels: 1 | 3 };

/** One labelled image. `id` is stable across runs (a relative path or `<set>/<index>`). */
export interface Sample {
  id: string;
  source: ImageSource;
  label: number;
}

export interface Dataset {
  name: string;
  /** Class names, indexed by label. */
  classes: string[];
  samples: Sample[];
  /** Named index sets into samples: `pool` (the study's total data) or official splits (`train`, `val`, `id_test`, `test`). */
  pools?: Record<string, number[]>;
  /**
   * WILDS-shaped datasets: the official sets that train and validate (draws come from them) and the test sets scored
   * separately (record name → pool name, e.g. id_test → id_test, ood_test → test). Absent: one test set, drawn.
   */
  official?: { train: string; val: string; tests: Record<string, string> };
  /** The metric the dataset's papers report, held in records' `value` (default accuracy; iWildCam: macro-F1). */
  metric?: HeadlineMetric;
  /** Per-sample group for group metrics, e.g. FMoW regions: names[of[i]] is sample i's group. */
  groups?: { field: string; names: string[]; of: Int32Array; excludeFromWorst?: string[] };
  /** Rows of the dataset's lists that were not used, with why (a path escaping the data root, an unknown label). */
  rejected?: { id: string; reason: string }[];
}

interface LoadContext {
  /** Folder holding the datasets (--data-root, $REPROBE_DATA). */
  dataRoot: string;
  /** The entry's own folder under the data root (the first of its `dirs` that exists); the data root without `dirs`. */
  dir: string;
}

/** One official file of a dataset: where it comes from and where it goes under the data root. */
export interface DatasetDownload {
  url: string;
  /** File name while downloading (and for a mirror: <mirror>/<file>). */
  file: string;
  /** Folder under the data root it unpacks into (archives) or lands in (plain files); '.' for archives with their own top folder. */
  into: string;
  unpack?: 'tar' | 'zip';
  size?: number;
  sha256?: string;
}

/** A registered dataset kind: `mnist`, `ucmerced`, or `folder:<path>` where `arg` is the part after the colon. */
export interface DatasetEntry {
  name: string;
  summary: string;
  /** Whether the name takes `:<arg>`, and what it means. */
  arg?: string;
  /** Folder names it may have under the data root, first match wins (the registry finds it, or says what goes where). */
  dirs?: string[];
  /** Where it lives under the data root and what must be inside (for `datasets info` and errors). */
  layout?: string;
  /** Official download pages or files. */
  source?: string;
  /** Files `reprobe datasets pull` fetches and unpacks (absent where the source needs a login or a browser). */
  downloads?: DatasetDownload[];
  load(arg: string | undefined, ctx: LoadContext): Promise<Dataset>;
}
