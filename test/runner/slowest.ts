/**
 * The 10 slowest tests of a run, printed when it ends, and each file's time kept for the next run's order
 * (test/runner/order.ts).
 */
import { relative } from 'node:path';
import { recordFileTimes } from './order.ts';

/** The fields of node:test's test:pass / test:fail events this reads. */
export interface TestDone {
  name: string;
  nesting: number;
  file?: string;
  details?: { duration_ms?: number; type?: string };
}

const SHOW = 10;

/** Collects finished tests; `report()` keeps the file times and returns the lines to print. */
export class Slowest {
  private readonly tests: { name: string; file: string; ms: number }[] = [];
  private readonly files = new Map<string, number>();

  constructor(private readonly root: string) {}

  add({ name, nesting, file, details }: TestDone): void {
    const ms = details?.duration_ms ?? 0;
    const where = file ? relative(this.root, file) : '';
    // A file's time is the sum of its top-level tests' (node 20 reports no event per file; start-up is left out).
    if (nesting === 0 && where) this.files.set(where, (this.files.get(where) ?? 0) + ms);
    if (details?.type !== 'suite') this.tests.push({ name, file: where, ms });
  }

  report(concurrency: number): string {
    if (this.files.size) recordFileTimes(this.files);
    const top = [...this.tests].sort((a, b) => b.ms - a.ms).slice(0, SHOW);
    if (!top.length) return '';
    const lines = top.map((t) => `${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.file}  ${t.name.length > 100 ? `${t.name.slice(0, 99)}…` : t.name}`);
    return `\nThe ${top.length} slowest tests (wall seconds, ${concurrency} file${concurrency === 1 ? '' : 's'} at a time):\n${lines.join('\n')}\n`;
  }
}
