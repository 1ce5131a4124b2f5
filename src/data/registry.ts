import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, DataError, unknownName } from '../errors.ts';
import { folderEntry } from './folder.ts';
import { fruits360Entry } from './loaders/fruits360.ts';
import { dtdEntry, patternnetEntry, ucmercedEntry } from './loaders/image-folders.ts';
import { csvEntry, fgvcEntry, flowersEntry, isicEntry } from './loaders/list-files.ts';
import { fmowEntry, iwildcamEntry } from './loaders/wilds.ts';
import { mnistEntry } from './mnist.ts';
import { dataRoot, findDir } from './paths.ts';
import type { Dataset, DatasetEntry } from './types.ts';

/** Every dataset kind reprobe can load, by the name users type. */
export const DATASETS: ReadonlyMap<string, DatasetEntry> = new Map(
  [mnistEntry, ucmercedEntry, patternnetEntry, dtdEntry, flowersEntry, fgvcEntry, isicEntry, iwildcamEntry, fmowEntry, fruits360Entry, folderEntry, csvEntry].map((e) => [e.name, e]),
);

function datasetNames(): string[] {
  return [...DATASETS.values()].map((e) => (e.arg ? `${e.name}:${e.arg}` : e.name));
}

/** The registry entry and argument for `name` or `name:arg`. */
export function datasetEntry(spec: string): { entry: DatasetEntry; arg?: string } {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? undefined : spec.slice(colon + 1);
  const entry = DATASETS.get(name);
  if (!entry) throw new ConfigError(unknownName('dataset', spec, datasetNames()));
  if (arg !== undefined && !entry.arg) throw new ConfigError(`Dataset "${name}" takes no argument; use --dataset ${name}.`);
  // An empty path would be the working folder, read as a dataset of whatever it holds.
  if (entry.arg && !arg?.trim()) throw new ConfigError(`Dataset "${name}" needs ${name}:${entry.arg}, e.g. --dataset ${name}:./my-images.`);
  return { entry, arg };
}

/**
 * A dataset as records, job ids and the report name it: a path argument made absolute with links resolved, so
 * `folder:data` typed in two working folders is two datasets, and one folder reached by two spellings is one.
 */
export function canonicalDataset(spec: string): string {
  const { entry, arg } = datasetEntry(spec);
  if (arg === undefined || !entry.arg) return spec;
  const abs = resolve(arg);
  let real = abs;
  try {
    real = realpathSync(abs);
  } catch {
    // not there (yet): loading it says so
  }
  return `${entry.name}:${real}`;
}

/**
 * The folder a `folder:<path>` or `csv:<file>` dataset reads its images from (the list's folder for csv), or undefined
 * for the named datasets: no output may go there, or what is written would be read as images of the dataset.
 */
export function datasetFolder(spec: string): string | undefined {
  let canonical: string;
  try {
    canonical = canonicalDataset(spec);
  } catch {
    return undefined; // not a dataset name reprobe knows: nothing to keep outputs out of
  }
  const colon = canonical.indexOf(':');
  if (colon < 0) return undefined;
  const [name, path] = [canonical.slice(0, colon), canonical.slice(colon + 1)];
  return name === 'folder' ? path : name === 'csv' ? dirname(path) : undefined;
}

/** `mnist`, `ucmerced`, `folder:<path>`, ... → a loaded dataset; study datasets live under the data root. */
export async function loadDataset(spec: string, root?: string): Promise<Dataset> {
  const { entry, arg } = datasetEntry(spec);
  const base = dataRoot(root);
  const dir = entry.dirs ? findDir(base, entry.dirs, entry.name, entry.layout ?? entry.dirs[0]) : base;
  return lookAlikeClasses(await entry.load(arg, { dataRoot: base, dir }));
}

/** A class name with every character past ASCII shown as its code point: `cafe\u0301` beside `caf\u00e9`. */
const codePoints = (s: string) => [...s].map((c) => (/[ -~]/.test(c) ? c : `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`)).join('');

/**
 * Two classes whose names look the same (one accent written as one character (NFC, Linux) and as a letter and a
 * combining mark (NFD, macOS), a zero-width character, a trailing space) are two classes a report shows as one name
 * twice: refused, naming both as code points.
 */
function lookAlikeClasses(ds: Dataset): Dataset {
  const seen = new Map<string, string>();
  for (const c of ds.classes) {
    const key = c.normalize('NFKC').replace(/\p{Cf}/gu, '').trim();
    const other = seen.get(key);
    if (other !== undefined) throw new DataError(`${ds.name}: classes "${codePoints(other)}" and "${codePoints(c)}" look the same but are two names (Unicode NFC vs NFD, an invisible character or a space); rename one so that each class has one name.`);
    seen.set(key, c);
  }
  return ds;
}
