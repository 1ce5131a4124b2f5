/**
 * The test files' times from the last run, kept in this checkout's node_modules/.cache/reprobe (written atomically),
 * so a run can start its slowest files first: with files running side by side, a long file started last is a long tail.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'reprobe', 'test-file-times.json');

/** Seconds per test file (paths relative to the repository root) from the last run; empty when none was kept. */
function fileTimes(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Merge this run's times (milliseconds by file) into the kept ones. */
export function recordFileTimes(ms: Map<string, number>): void {
  // Only this checkout's test files: runner.test.ts's own runs time files under node_modules/.cache, which would pile up.
  const all = Object.fromEntries(Object.entries(fileTimes()).filter(([f]) => f.startsWith('test/')));
  for (const [f, t] of ms) if (f.startsWith('test/')) all[f] = Math.round(t) / 1000;
  mkdirSync(join(FILE, '..'), { recursive: true });
  const tmp = `${FILE}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(all, null, 1));
  renameSync(tmp, FILE);
}

/** The files, slowest first by the last run; a file without a time (new) first of all, then by name. */
export function slowestFirst(files: string[]): string[] {
  const t = fileTimes();
  const key = (f: string) => t[f] ?? Infinity;
  return [...files].sort((a, b) => key(b) - key(a) || (a < b ? -1 : 1));
}
