/**
 * Loaded into each test process by npm test (node --import, beside cpu-hook.ts): when node's test runner stops a file
 * at its time limit it sends SIGTERM to the file's process only, and a CLI or Python process the file started would
 * run on, holding an output pipe the run waits for. On SIGTERM every process below this one is killed first, after
 * a description of what the file was waiting for (its pending handles, those processes, the first six's threads and
 * native stacks), which npm test prints at the end of the run (REPROBE_TEST_STOPPED). Linux (/proc);
 * elsewhere the process just exits.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeProcess, procStat } from '../process-watchdog.ts';

/** The processes below `root`, from /proc's parent pids. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    // A process gone meanwhile reads as '?': parent NaN, no one's child.
    const ppid = Number(procStat(e)[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  for (let level = children.get(root) ?? []; level.length; level = level.flatMap((p) => children.get(p) ?? [])) out.push(...level);
  return out;
}

/** The test file a bundle was built from (npm test's REPROBE_TEST_SOURCES), relative to the checkout. */
function sourceOf(file: string): string {
  try {
    const source = (JSON.parse(readFileSync(process.env.REPROBE_TEST_SOURCES ?? '', 'utf8')) as Record<string, string>)[file];
    return source ? relative(join(import.meta.dirname, '..', '..'), source) : file;
  } catch {
    return file;
  }
}

process.once('SIGTERM', () => {
  // What the file was waiting for when it was stopped: its pending handles and the processes it started.
  const below = descendants(process.pid);
  const text = `stopped at its time limit: ${sourceOf(process.argv[1])}\n  waiting on: ${process.getActiveResourcesInfo().join(', ')}\n${below.map((p, i) => `  ${describeProcess(p, i < 6 ? 20_000 : 0)}\n`).join('')}`;
  // npm test prints this file at the end of the run: node shows nothing of a stopped file's own output.
  try {
    if (process.env.REPROBE_TEST_STOPPED) appendFileSync(process.env.REPROBE_TEST_STOPPED, text);
    else process.stderr.write(text);
  } catch {
    // Nowhere to say it: the kill below matters more.
  }
  for (const pid of below) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(143);
});
