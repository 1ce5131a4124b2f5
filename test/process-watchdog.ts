import { execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * What a process is doing, for a test whose child did not exit: its state, each thread's name and kernel wait channel
 * from /proc, and every thread's native stack from gdb where gdb is installed (a hang in CI is then one failing test
 * with the place it waits, rather than a run killed at its time limit with nothing to show).
 */
export function describeProcess(pid: number): string {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  const lines = [`pid ${pid}: ${read(`/proc/${pid}/status`).split('\n').filter((l) => /^(State|Threads|VmRSS):/.test(l)).join(', ')}`];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Not Linux, or gone.
  }
  for (const t of tasks) lines.push(`  thread ${t} ${read(`/proc/${pid}/task/${t}/comm`)}: waits in ${read(`/proc/${pid}/task/${t}/wchan`)}`);
  try {
    const gdb = execFileSync('gdb', ['-p', String(pid), '-batch', '-nx', '-ex', 'thread apply all bt 30'], { timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 }).toString();
    lines.push(...gdb.split('\n').filter((l) => /^(Thread|#)/.test(l)));
  } catch (err) {
    lines.push(`(no native stacks: ${(err as Error).message.split('\n')[0]})`);
  }
  return lines.join('\n');
}

/**
 * Kill `child` if it has not exited after `ms`, first describing it (describeProcess) to `report`; returns a function
 * that cancels the watch.
 */
export function watchdog(child: ChildProcess, ms: number, what: string, report: (text: string) => void): () => void {
  const timer = setTimeout(() => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    report(`${what} (pid ${child.pid}) did not exit in ${ms / 1000} s:\n${describeProcess(child.pid)}`);
    child.kill('SIGKILL');
  }, ms);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
  return () => clearTimeout(timer);
}
