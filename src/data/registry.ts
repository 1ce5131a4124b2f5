import { ConfigError, unknownName } from '../errors.ts';
import { folderEntry } from './folder.ts';
import { mnistEntry } from './mnist.ts';
import type { Dataset, DatasetEntry } from './types.ts';

/** Every dataset kind reprobe can load, by the name users type. */
export const DATASETS: ReadonlyMap<string, DatasetEntry> = new Map([mnistEntry, folderEntry].map((e) => [e.name, e]));

export function datasetNames(): string[] {
  return [...DATASETS.values()].map((e) => (e.arg ? `${e.name}:${e.arg}` : e.name));
}

/** `mnist` or `folder:<path>` → a loaded dataset. */
export async function loadDataset(spec: string): Promise<Dataset> {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? undefined : spec.slice(colon + 1);
  const entry = DATASETS.get(name);
  if (!entry) throw new ConfigError(unknownName('dataset', spec, datasetNames()));
  if (arg !== undefined && !entry.arg) throw new ConfigError(`Dataset "${name}" takes no argument; use --dataset ${name}.`);
  return entry.load(arg);
}
