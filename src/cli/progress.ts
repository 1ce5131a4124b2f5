import cliProgress from 'cli-progress';

/** A progress bar on stderr when it is a terminal; otherwise a line at 25 % steps, so logs stay short. */
export function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} |{bar}| {value}/{total} images | {speed} img/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    const t0 = performance.now();
    let started = false;
    return {
      update(done, total) {
        if (!started) bar.start(total, 0, { speed: '-' });
        started = true;
        bar.update(done, { speed: (done / ((performance.now() - t0) / 1000)).toFixed(1) });
      },
      stop: () => bar.stop(),
    };
  }
  let nextQuarter = 0.25;
  return {
    update(done, total) {
      while (total > 0 && done / total >= nextQuarter) {
        process.stderr.write(`${label}: ${Math.round(nextQuarter * 100)}% (${done}/${total} images)\n`);
        nextQuarter += 0.25;
      }
    },
    stop: () => undefined,
  };
}
