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
}

/** A registered dataset kind: `mnist`, or `folder:<path>` where `arg` is the part after the colon. */
export interface DatasetEntry {
  name: string;
  summary: string;
  /** Whether the name takes `:<arg>`, and what it means. */
  arg?: string;
  load(arg: string | undefined): Promise<Dataset>;
}
