/**
 * What a run's test files spent and left: npm test gives them a temp folder of their own (TMPDIR, which os.tmpdir(),
 * Python and Chromium follow) and a CPU record (cpu-hook.ts); after the run it prints the files that cost the most CPU
 * and fails when a test left anything in that folder (every test removes what it creates: tempDir() in
 * test/helpers.ts does it at exit).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SHOW = 10;

/** The run's folders: `tmp` for TMPDIR, `cache` for fixtures shared by the files of this run, `cpu` for the record. */
export function runFolders(run: string): { tmp: string; cache: string; cpu: string; stopped: string } {
  const tmp = join(run, 'tmp');
  const cache = join(run, 'cache');
  mkdirSync(tmp);
  mkdirSync(cache);
  // Like /tmp: tests run children as `nobody` (unprivileged() in test/helpers.ts), which must reach and write it.
  chmodSync(run, 0o755);
  chmodSync(tmp, 0o1777);
  chmodSync(cache, 0o1777);
  return { tmp, cache, cpu: join(run, 'cpu.jsonl'), stopped: join(run, 'stopped.txt') };
}

/** CPU seconds by test file (own + waited-for children), from the record; files named through `sources` (bundle → file). */
export function cpuByFile(record: string, sources: Record<string, string>, root: string): Map<string, { own: number; children: number; wall: number }> {
  const by = new Map<string, { own: number; children: number; wall: number }>();
  if (!existsSync(record)) return by;
  for (const line of readFileSync(record, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { file: string; own: number; children: number; wall: number };
    // Only the test files' own processes: a child node started with the same flags records itself too.
    const file = sources[e.file] ?? (e.file.endsWith('.test.ts') ? e.file : undefined);
    if (file) by.set(relative(root, file), { own: e.own, children: e.children, wall: e.wall });
  }
  return by;
}

/** The lines npm test prints: the total and the files that cost the most CPU. */
export function cpuReport(by: Map<string, { own: number; children: number; wall: number }>): string {
  if (!by.size) return '';
  // All of them, for profiling: node_modules/.cache/reprobe/test-file-cpu.json.
  const keep = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'reprobe', 'test-file-cpu.json');
  mkdirSync(dirname(keep), { recursive: true });
  writeFileSync(`${keep}.tmp-${process.pid}`, JSON.stringify(Object.fromEntries(by), null, 1));
  renameSync(`${keep}.tmp-${process.pid}`, keep);
  const rows = [...by].map(([f, c]) => ({ f, cpu: c.own + c.children, ...c })).sort((a, b) => b.cpu - a.cpu);
  const total = rows.reduce((s, r) => s + r.cpu, 0);
  const lines = rows.slice(0, SHOW).map((r) => `${r.cpu.toFixed(1).padStart(7)} s  (${r.children.toFixed(1)} s in children, ${r.wall.toFixed(1)} s wall)  ${r.f}`);
  return `\nThe test files used ${total.toFixed(0)} CPU seconds in all (${by.size} files); the ${lines.length} costliest:\n${lines.join('\n')}\n`;
}

/**
 * Not the tests' to remove: onnxruntime-node's telemetry library (1DS, "MATSDK" in libonnxruntime.so) leaves an empty
 * mat-debug-<pid>.log and a .ses file in the temp folder of every process that loads it; tsx keeps its cache of
 * compiled files in tsx-<uid> (CLI runs with REPROBE_NO_BUNDLE=1) and torch its compile cache in torchinductor_<user>
 * (the Python references and exports).
 */
const NOT_THE_TESTS = /^(mat-debug-\d+\.log|\.ses|tsx-\d+|torchinductor_\w+)$/;

/** The entries the tests left in their temp folder, a folder with its number of entries; onnxruntime's, tsx's and torch's apart. */
export function leftovers(tmp: string): { left: string[]; others: number } {
  if (!existsSync(tmp)) return { left: [], others: 0 };
  const all = readdirSync(tmp, { withFileTypes: true });
  const left = all.filter((e) => !NOT_THE_TESTS.test(e.name)).map((e) => e.name + (e.isDirectory() ? `/ (${safeCount(join(tmp, e.name))} entries)` : ''));
  return { left, others: all.length - left.length };
}

function safeCount(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}
