import type { SplitSpec } from '../data/split.ts';
import { jsonHash16 } from '../util/hash-file.ts';

/** What determines a record's number, as the runner knows it when it writes the record. */
export interface CellIdentityInput {
  /** The dataset's canonical name (canonicalDataset) and its content digest (datasetDigest). */
  dataset: string;
  datasetDigest: string;
  /** The drawn split's hash (its image ids): the same for every seed where nothing is drawn (0 shots, official test sets). */
  splitHash: string;
  /** How the split was asked for; its seed is the one random state of a cell (see below). */
  split: SplitSpec;
  model: string;
  layer: string;
  runtime: string;
  method: string;
  options: Record<string, unknown>;
  evalSplit: string;
  /** Methods that train (finetune) also depend on their batch size. */
  batchSize?: number;
}

/**
 * `cell_id` hashes everything that determines the number; `config_id` the same without the seed and the split it drew
 * (the records a report averages over seeds share it). The split's seed is every random state a cell has: it draws
 * the split and seeds UMAP, k-means, the bootstrap and training (method.ts), so it is always in the cell id, also
 * where the split itself does not depend on it (a WILDS or whole-set clustering split draws nothing).
 */
export function cellIdentity(c: CellIdentityInput): { cell_id: string; config_id: string } {
  const common = { dataset: c.dataset, content: c.datasetDigest, model: c.model, layer: c.layer, runtime: c.runtime, method: c.method, options: c.options, eval: c.evalSplit, batchSize: c.batchSize ?? null };
  const asked = { protocol: c.split.protocol, shots: c.split.shots, val: c.split.valPerClass ?? null, test: c.split.testPerClass ?? null };
  return { cell_id: jsonHash16({ ...common, split: c.splitHash, asked, seed: c.split.seed }), config_id: jsonHash16({ ...common, split: asked }) };
}
