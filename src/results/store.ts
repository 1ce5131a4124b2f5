import { constants } from 'node:fs';
import { access, mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ReprobeError } from '../errors.ts';
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
 * ever glued to another. Flushed before returning.
 */
export async function appendRecords(dir: string, records: readonly CellRecord[], file = RESULTS_FILE): Promise<Appended> {
  const path = join(dir, file);
  await guard(() => mkdir(dir, { recursive: true }), dir);
  const isolated = await guard(() => isolateTornTail(path), dir);
  const fh = await guard(() => open(path, 'a'), dir);
  try {
    const start = (await fh.stat()).size;
    const bytes = Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''));
    try {
      for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
      await fh.sync();
    } catch (err) {
      await fh.truncate(start).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    throw asResultsError(err, dir);
  } finally {
    await fh.close();
  }
  return { path, ...(isolated ? { isolated } : {}) };
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
    const tailLen = Math.min(size, 1 << 20);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    if (tail[tailLen - 1] === 0x0a) return undefined;
    const lastNewline = tail.lastIndexOf(0x0a);
    const cut = lastNewline < 0 ? size - tailLen : size - tailLen + lastNewline + 1;
    const torn = Buffer.alloc(size - cut);
    await fh.read(torn, 0, torn.length, cut);
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

async function guard<T>(f: () => Promise<T>, dir: string): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw asResultsError(err, dir);
  }
}

function asResultsError(err: unknown, dir: string): unknown {
  const code = (err as { code?: string }).code;
  if (!code || err instanceof ReprobeError) return err;
  return new ReprobeError(`Cannot write results in ${dir} (${code}${code === 'ENOSPC' ? ': disk full' : ''}); nothing was appended. Free space or pass --results-dir with a writable folder.`);
}
