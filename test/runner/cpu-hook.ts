/**
 * Loaded into each test process by npm test (node --import, which node --test passes on to the files' processes):
 * when the process exits, appends its CPU seconds to REPROBE_TEST_CPU, its own and those of the children it waited
 * for (CLI runs, Python exports, Chromium), since on a shared machine CPU time stands for idle wall time better
 * than wall time does. Linux reads them from /proc/self/stat; elsewhere only the process's own time is known.
 */
import { appendFileSync, readFileSync } from 'node:fs';

const out = process.env.REPROBE_TEST_CPU;
/** The clock ticks per second of /proc's times (USER_HZ, 100 on every Linux node runs on). */
const HZ = 100;

function cpuSeconds(): { own: number; children: number } {
  try {
    // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th, cutime 16th, cstime 17th.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { own: (Number(f[11]) + Number(f[12])) / HZ, children: (Number(f[13]) + Number(f[14])) / HZ };
  } catch {
    const u = process.cpuUsage();
    return { own: (u.user + u.system) / 1e6, children: 0 };
  }
}

if (out && process.argv[1])
  process.on('exit', () => {
    const { own, children } = cpuSeconds();
    appendFileSync(out, `${JSON.stringify({ file: process.argv[1], own, children, wall: process.uptime() })}\n`);
  });
