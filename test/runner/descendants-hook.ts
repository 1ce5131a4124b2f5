/**
 * Loaded into each test process by npm test (node --import, beside cpu-hook.ts): when node's test runner stops a file
 * at its time limit it sends SIGTERM to the file's process only, and a CLI or Python process the file started would
 * run on, holding an output pipe the run waits for. On SIGTERM every process below this one is killed first. Linux
 * (/proc); elsewhere the process just exits.
 */
import { readdirSync, readFileSync } from 'node:fs';

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
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // After the command name (which may hold spaces): state, then the parent's pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  for (let level = children.get(root) ?? []; level.length; level = level.flatMap((p) => children.get(p) ?? [])) out.push(...level);
  return out;
}

process.once('SIGTERM', () => {
  for (const pid of descendants(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(143);
});
