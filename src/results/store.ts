import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError } from '../errors.ts';
import type { CellRecord } from './record.ts';

/** Default results file; each command may name its own (probe: probe.jsonl). */
export const RESULTS_FILE = 'results.jsonl';

export interface Appended {
  path: string;
  /** Where a torn last line (from a crash or a full disk in an earlier run) was moved, if there was one. */
  isolated?: string;
}

/**
 * Append records as whole JSON lines, or nothing: a failed write (full disk) is cut back to where it started, and a
 * torn last line left by an earlier crash is moved to `<file>.torn-<time>` before anything is added, so no record is
 * ever glued to another. Flushed before returning. One process writes a results file at a time (two appending at once
 * could take each other's half-written line for a torn one); the per-cell result files of the results store lift that.
 */
export async function appendRecords(dir: string, records: readonly CellRecord[], file = RESULTS_FILE): Promise<Appended> {
  const path = join(dir, file);
  await guard(() => mkdir(dir, { recursive: true }), dir);
  const isolated = await guard(() => isolateTornTail(path), dir);
  const fh = await guard(() => open(path, 'a'), dir);
  try {
    await appendWhole(fh, Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join('')));
  } catch (err) {
    throw asResultsError(err, dir);
  } finally {
    await fh.close();
  }
  return { path, ...(isolated ? { isolated } : {}) };
}

/** What appendWhole needs of an open file (a FileHandle). */
interface AppendTarget {
  stat(): Promise<{ size: number }>;
  write(buf: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(len: number): Promise<void>;
}

/** Write all of `bytes` at the end of the file and flush, or cut the file back to its old length and throw. */
export async function appendWhole(fh: AppendTarget, bytes: Buffer): Promise<void> {
  const start = (await fh.stat()).size;
  try {
    for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
    await fh.sync();
  } catch (err) {
    await fh.truncate(start).catch(() => undefined);
    throw err;
  }
}

/** Fail before any slow work when results cannot be written there (a file in the way, no permission, read-only). */
export async function ensureResultsDir(dir: string): Promise<void> {
  await guard(async () => {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  }, dir);
}

/** A file that does not end in a newline holds a torn line: move it aside (not lost, not glued to) and cut it off. */
async function isolateTornTail(path: string): Promise<string | undefined> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  if (size === 0) return undefined;
  const fh = await open(path, 'r+');
  try {
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return undefined;
    // Back from the end, a block at a time, to the newline before the torn line (or the start of the file).
    let cut = 0;
    const block = Buffer.alloc(1 << 16);
    for (let end = size; end > 0; end -= block.length) {
      const from = Math.max(0, end - block.length);
      await fh.read(block, 0, end - from, from);
      const nl = block.subarray(0, end - from).lastIndexOf(0x0a);
      if (nl >= 0) {
        cut = from + nl + 1;
        break;
      }
    }
    const torn = Buffer.alloc(size - cut);
    await fh.read(torn, 0, torn.length, cut);
    if (isWholeRecord(torn)) {
      // A whole record that only lacks its newline (written by hand or by another tool): keep it, end the line.
      await fh.write(Buffer.from('\n'), 0, 1, size);
      await fh.sync();
      return undefined;
    }
    const aside = `${path}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const out = await open(`${aside}.tmp`, 'w');
    await out.write(torn);
    await out.sync();
    await out.close();
    await rename(`${aside}.tmp`, aside);
    await fh.truncate(cut);
    await fh.sync();
    return aside;
  } finally {
    await fh.close();
  }
}

function isWholeRecord(line: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(line.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

async function guard<T>(f: () => Promise<T>, dir: string): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw asResultsError(err, dir);
  }
}

const asResultsError = (err: unknown, dir: string) => fsError(err, `Cannot write results in ${dir}; nothing was appended`, 'Free space, or pass --results-dir with a writable folder.');

/** Every whole record of a results file, oldest first (none when it does not exist; a torn or foreign line is skipped). */
export async function readRecords(dir: string, file: string): Promise<CellRecord[]> {
  return parseRecords(await readFile(join(dir, file), 'utf8').catch(() => ''), 'split_hash');
}

/**
 * JSON lines → the records among them: objects with a `method` and the string field `key`. A torn line (a crash
 * mid-append: appendRecords moves it aside on the next write) or a foreign one is skipped.
 */
export function parseRecords(text: string, key: 'split_hash' | 'cell_id'): CellRecord[] {
  const out: CellRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as CellRecord;
      if (r && typeof r === 'object' && typeof r.method === 'string' && typeof r[key] === 'string') out.push(r);
    } catch {
      /* not a whole record: skipped */
    }
  }
  return out;
}
