import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tempDir } from '../helpers.ts';

/** Debian's `chromium` on PATH (CI installs it: apt-get install -y chromium); undefined without it. */
export const chromium = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'chromium')).find((p) => existsSync(p));
export const NO_CHROMIUM = chromium ? false : 'chromium is not on PATH (apt-get install -y chromium)';
const HEADLESS = ['--headless', '--no-sandbox', '--disable-gpu', '--enable-logging=stderr', '--v=0'];

/** Open `url` in headless Chromium with `flags` (`--dump-dom`, `--screenshot=…`); its output. */
export function browse(url: string, ...flags: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(chromium!, [...HEADLESS, `--user-data-dir=${tempDir('reprobe-chromium-')}`, ...flags, url], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `chromium exited ${r.status}: ${r.stderr}`);
  return r;
}

/** What the page said on its console (its errors are `Uncaught …`): chromium logs it as CONSOLE lines naming the page. */
export const consoleLines = (stderr: string, page = 'report.html') => stderr.split('\n').filter((l) => l.includes('Uncaught') || l.includes('ERROR:CONSOLE') || (l.includes('CONSOLE') && l.includes(page)));
