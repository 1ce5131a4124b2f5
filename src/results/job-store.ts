import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { CellRecord } from './record.ts';
import { parseRecords } from './store.ts';

/**
 * The results store: one small JSONL file per finished job in `<results>/records/`, written whole (temp file, flush,
 * rename), so any number of processes on any number of hosts can write into one folder on a shared filesystem without
 * interleaving or losing a line (appends to one file are not atomic on NFS). The same name written twice is one file.
 */
export const RECORDS_DIR = 'records';

/** File names are the caller's ids: hex, letters, digits, dot, dash, underscore. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function recordsPath(resultsDir: string, name: string): string {
  if (!SAFE.test(name)) throw new RangeError(`results store: "${name}" is not a safe file name`);
  return join(resultsDir, RECORDS_DIR, `${name}.jsonl`);
}

/** Write one job's records as its own file in the store, atomically. */
export async function writeJobRecords(resultsDir: string, name: string, records: readonly CellRecord[]): Promise<string> {
  const path = recordsPath(resultsDir, name);
  try {
    await writeFileAtomic(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
  } catch (err) {
    throw fsError(err, `Cannot write results in ${resultsDir}`, 'Free space, or pass --results-dir with a writable folder.');
  }
  return path;
}

/** The names (without .jsonl) of the jobs the store holds. */
export async function storedJobs(resultsDir: string): Promise<Set<string>> {
  const files = await readdir(join(resultsDir, RECORDS_DIR)).catch(() => [] as string[]);
  return new Set(files.filter((f) => f.endsWith('.jsonl') && !f.startsWith('.')).map((f) => f.slice(0, -'.jsonl'.length)));
}

/** Every record in the store, ordered by time then file name (a foreign or broken line is skipped). */
export async function readStore(resultsDir: string): Promise<CellRecord[]> {
  const names = [...(await storedJobs(resultsDir))].sort();
  const out: CellRecord[] = [];
  for (const name of names) {
    // By the name the folder gave (a file copied in by hand may not be a name reprobe writes).
    out.push(...parseRecords(await readFile(join(resultsDir, RECORDS_DIR, `${name}.jsonl`), 'utf8').catch(() => ''), 'cell_id'));
  }
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** The newest record of each (cell, evaluated set): what a report shows when a cell was run more than once. */
export function latestPerCell(records: readonly CellRecord[]): CellRecord[] {
  const byCell = new Map<string, CellRecord>();
  for (const r of records) {
    const prev = byCell.get(r.cell_id);
    if (!prev || prev.time <= r.time) byCell.set(r.cell_id, r);
  }
  return [...byCell.values()];
}

/** Every record of the store as one JSONL file (pandas.read_json(path, lines=True)), written atomically; the record count. */
export async function mergeStore(resultsDir: string, out: string): Promise<number> {
  const records = await readStore(resultsDir);
  try {
    await writeFileAtomic(out, records.map((r) => JSON.stringify(r) + '\n').join(''));
  } catch (err) {
    throw fsError(err, `Cannot write ${out}`, 'Pass --out with a writable path.');
  }
  return records.length;
}
