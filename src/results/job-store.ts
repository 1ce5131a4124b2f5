import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError } from '../errors.ts';
import { pushAll } from '../util/arrays.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { CellRecord } from './record.ts';
import { checkedRecord, parseRecordLine } from './record-schema.ts';

/**
 * The results store, the one source of truth: one small JSONL file per finished job in `<results>/records/`, written
 * whole (temp file, flush, rename), so any number of processes on any number of hosts can write into one folder on a
 * shared filesystem without interleaving or losing a line (appends to one file are not atomic on NFS). The same name
 * written twice is one file. Every record is checked against the record schema when written and when read; the
 * per-command files (probe.jsonl, …) and merged.jsonl are views written from it.
 */
export const RECORDS_DIR = 'records';

/** Fail before any slow work when results cannot be written there (a file in the way, no permission, read-only). */
export async function ensureResultsDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw fsError(err, `Cannot write results in ${dir}`, 'Pass --results-dir with a writable folder.');
  }
}

/** File names are the caller's ids: hex, letters, digits, dot, dash, underscore. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function recordsPath(resultsDir: string, name: string): string {
  if (!SAFE.test(name)) throw new RangeError(`results store: "${name}" is not a safe file name`);
  return join(resultsDir, RECORDS_DIR, `${name}.jsonl`);
}

const jsonl = (records: readonly CellRecord[]) => records.map((r) => JSON.stringify(r) + '\n').join('');

/** Write one job's records as its own file in the store, atomically, each checked against the record schema first. */
export async function writeJobRecords(resultsDir: string, name: string, records: readonly CellRecord[]): Promise<string> {
  const path = recordsPath(resultsDir, name);
  const checked = records.map(checkedRecord);
  try {
    await writeFileAtomic(path, jsonl(checked));
  } catch (err) {
    throw fsError(err, `Cannot write results in ${resultsDir}`, 'Pass --results-dir with a writable folder.');
  }
  return path;
}

/** A line of the store that is not a valid record: where it is and what is wrong with it. */
export interface RecordProblem {
  file: string;
  line: number;
  error: string;
}

export const problemLine = (p: RecordProblem) => `${p.file}:${p.line}: not a valid record (${p.error}); left out`;

/** The names (without .jsonl) of the record files in the store, valid or not. */
async function jobFileNames(resultsDir: string): Promise<string[]> {
  const files = await readdir(join(resultsDir, RECORDS_DIR)).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.jsonl') && !f.startsWith('.')).map((f) => f.slice(0, -'.jsonl'.length)).sort();
}

/** What makes a record one record: its run, its cell and the set it scores (a copy of it is the same record). */
const recordKey = (r: CellRecord) => JSON.stringify([r.run_id, r.cell_id, r.eval_split]);

/** One job's records file: its valid records and its problems (an empty file is one); undefined when there is none. */
export async function readJobFile(resultsDir: string, name: string): Promise<{ records: CellRecord[]; problems: RecordProblem[] } | undefined> {
  // By the name the folder gave (a file copied in by hand may not be a name reprobe writes).
  const file = join(resultsDir, RECORDS_DIR, `${name}.jsonl`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { records: [], problems: [{ file, line: 0, error: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }] };
  }
  const records: CellRecord[] = [];
  const problems: RecordProblem[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const r = parseRecordLine(line);
    if (!('record' in r)) return problems.push({ file, line: i + 1, error: r.error });
    // A sweep job's file holds that job's records only: one copied over another job's file would mark that job done.
    const jobId = r.record.job_id;
    if (typeof jobId === 'string' && jobId !== name) return problems.push({ file, line: i + 1, error: `a record of job ${jobId} in the file of job ${name}` });
    const first = seen.get(recordKey(r.record));
    if (first !== undefined) return problems.push({ file, line: i + 1, error: `a second copy of line ${first}` });
    seen.set(recordKey(r.record), i + 1);
    records.push(r.record);
  });
  if (!records.length && !problems.length) problems.push({ file, line: 1, error: 'empty file (a write cut short, or emptied by hand)' });
  return { records, problems };
}

/**
 * Whether a job is finished: its file holds at least one record and every line is a valid one. An empty, truncated
 * or hand-damaged file is not a finished job: a sweep lists it and runs the job again (the new file replaces it).
 */
export const isFinished = (f: { records: readonly CellRecord[]; problems: readonly RecordProblem[] } | undefined): boolean => !!f && f.records.length > 0 && f.problems.length === 0;

/**
 * Every record in the store, checked and migrated to the current version, ordered by time then file name; a line
 * that is not a valid record (or an empty file) is returned as a problem (file and line) for the caller to report,
 * never used in part.
 */
export async function readStore(resultsDir: string): Promise<{ records: CellRecord[]; problems: RecordProblem[] }> {
  const records: CellRecord[] = [];
  const problems: RecordProblem[] = [];
  const seen = new Map<string, string>();
  for (const name of await jobFileNames(resultsDir)) {
    const f = await readJobFile(resultsDir, name);
    if (!f) continue; // removed since the listing
    // One record (run, cell, evaluated set) is written once: a copy in another file is counted once.
    const file = join(resultsDir, RECORDS_DIR, `${name}.jsonl`);
    const copies = f.records.filter((r) => seen.has(recordKey(r)));
    const fresh = f.records.filter((r) => !seen.has(recordKey(r)));
    if (copies.length) problems.push({ file, line: 0, error: `${copies.length} record(s) already in ${seen.get(recordKey(copies[0]))}` });
    for (const r of fresh) seen.set(recordKey(r), file);
    pushAll(records, fresh);
    pushAll(problems, f.problems);
  }
  return { records: records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)), problems };
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

/**
 * A view of the store as one JSONL file (pandas.read_json(path, lines=True)), written atomically: every record, or
 * those `keep` picks (a command's own file: probe.jsonl holds the probe records). Rewritten whole each time, so it is
 * never a second source of truth; the record count and the store's problems.
 */
export async function writeView(resultsDir: string, out: string, keep: (r: CellRecord) => boolean = () => true): Promise<{ count: number; problems: RecordProblem[] }> {
  const { records, problems } = await readStore(resultsDir);
  const picked = records.filter(keep);
  try {
    await writeFileAtomic(out, jsonl(picked));
  } catch (err) {
    throw fsError(err, `Cannot write ${out}`, 'Pass --out with a writable path.');
  }
  return { count: picked.length, problems };
}
