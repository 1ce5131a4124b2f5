import cliProgress from 'cli-progress';

const STATUS_EVERY_MS = 10_000;

export interface BarUnit {
  /** What is counted, e.g. `images` or `MB`. */
  unit: string;
  /** Multiplies raw counts for display (1e-6 for bytes → MB). */
  scale: number;
}

/**
 * A progress bar on stderr when it is a terminal; otherwise a line at 25 % steps, so logs stay short. A status (an
 * epoch's losses) shows in the bar, or as its own line in logs.
 */
export function progressBar(label: string, u: BarUnit = { unit: 'images', scale: 1 }): { update(done: number, total: number, status?: string): void; stop(): void } {
  const shown = (x: number) => (u.scale === 1 ? x : Math.round(x * u.scale * 10) / 10);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} |{bar}| {value}/{total} ${u.unit} | {speed} ${u.unit}/s | ETA {eta_formatted}{status}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    const t0 = performance.now();
    let started = false;
    return {
      update(done, total, status) {
        if (!started) bar.start(shown(total), 0, { speed: '-', status: '' });
        started = true;
        bar.update(shown(done), { speed: (shown(done) / ((performance.now() - t0) / 1000)).toFixed(1), status: status ? ` | ${status}` : '' });
      },
      stop: () => bar.stop(),
    };
  }
  let nextQuarter = 0.25;
  let lastStatus = -Infinity;
  return {
    update(done, total, status) {
      // Status lines (an epoch's losses) at most every 10 s, so a log of a long training stays readable.
      if (status) {
        if (performance.now() - lastStatus >= STATUS_EVERY_MS || done >= total) {
          lastStatus = performance.now();
          process.stderr.write(`${label}: ${status}\n`);
        }
        return;
      }
      // One line for the last quarter reached (a cache hit jumps to 100 %: one line, not four).
      let reached = 0;
      while (total > 0 && done / total >= nextQuarter) {
        reached = nextQuarter;
        nextQuarter += 0.25;
      }
      if (reached) process.stderr.write(`${label}: ${Math.round(reached * 100)}% (${shown(done)}/${shown(total)} ${u.unit})\n`);
    },
    stop: () => undefined,
  };
}
