import { spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A /proc file's text, or '?' where it cannot be read (not Linux, or the process is gone). */
function readProc(path: string): string {
  try {
    return readFileSync(`/proc/${path}`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): state first, then the parent's pid. */
export function procStat(pid: number | string): string[] {
  const stat = readProc(`${pid}/stat`);
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * What a process is doing, for a test whose child did not exit: its state, kernel wait and command line, each thread's
 * name and kernel wait channel from /proc and, with `gdbTimeoutMs` above 0, every thread's native stack from gdb where
 * gdb is installed (a hang in CI is then one failing test with the place it waits, rather than a run killed at its time
 * limit with nothing to show).
 */
export function describeProcess(pid: number, gdbTimeoutMs = 60_000): string {
  const lines = [`pid ${pid} (state ${procStat(pid)[0]}, waits in ${readProc(`${pid}/wchan`)}): ${readProc(`${pid}/cmdline`).split('\0').join(' ').trim().slice(0, 300)}`];
  if (gdbTimeoutMs <= 0) return lines[0];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Not Linux, or gone.
  }
  for (const t of tasks) lines.push(`  thread ${t} ${readProc(`${pid}/task/${t}/comm`)}: waits in ${readProc(`${pid}/task/${t}/wchan`)}`);
  // gdb exits 0 even when it cannot attach (ptrace refused, the process gone): its own lines then say why.
  const gdb = spawnSync('gdb', ['-p', String(pid), '-batch', '-nx', '-ex', 'thread apply all bt 30'], { timeout: gdbTimeoutMs, encoding: 'utf8', maxBuffer: 1 << 24 });
  const all = `${gdb.stdout ?? ''}\n${gdb.stderr ?? ''}`.split('\n');
  const stacks = all.filter((l) => /^(Thread|#)/.test(l));
  if (stacks.length) lines.push(...stacks);
  else lines.push(`(no native stacks: ${gdb.error?.message ?? (all.filter((l) => /ptrace|not permitted|No such process|warning: /i.test(l)).join(' ') || `gdb gave none (exit ${gdb.status})`)})`);
  return lines.join('\n');
}

/**
 * Kill `child` if it has not exited after `ms`, first describing it (describeProcess) to `report` and to stderr at
 * once (a test whose file is then stopped by npm test's file timeout still shows it).
 */
export function watchdog(child: ChildProcess, ms: number, what: string, report: (text: string) => void): void {
  const timer = setTimeout(() => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const text = `${what} (pid ${child.pid}) did not exit in ${ms / 1000} s:\n${describeProcess(child.pid)}`;
    process.stderr.write(`${text}\n`);
    report(text);
    child.kill('SIGKILL');
  }, ms);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}
