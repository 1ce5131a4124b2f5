import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { writeReport } from '../../src/report/write-report.ts';
import { tempDir } from '../helpers.ts';
import { browse, consoleLines, NO_CHROMIUM } from './chromium.ts';
import { writeFixtureStore } from './fixture-store.ts';

test('report.html in headless Chromium: no console errors, sortable tables, inline charts, a screenshot with content', { skip: NO_CHROMIUM }, async () => {
  const results = tempDir();
  await writeFixtureStore(results);
  const out = tempDir();
  await writeReport(results, ['html'], out);
  const page = pathToFileURL(join(out, 'report.html')).href;

  // Sorted on load by ft_10 (column 1), best first: clip (0.85) above dino (0.74), the other way round from the study's order.
  const dom = browse(`${page}#sort=t-study_ucmerced_study:1`, '--dump-dom');
  assert.deepEqual(consoleLines(dom.stderr), []);
  assert.equal((dom.stdout.match(/<table class="sortable"[^>]*data-sortable="ready"/g) ?? []).length, 4, 'the script made every table sortable');
  assert.equal((dom.stdout.match(/<svg[\s>]/g) ?? []).length, 5);
  const uc = dom.stdout.slice(dom.stdout.indexOf('id="t-study_ucmerced_study"'));
  assert.match(uc, /<th scope="col" aria-sort="descending"[^>]*>ft_10<\/th>/);
  assert.match(uc, /<tbody>\s*<tr><td>clip<\/td>/);

  const png = join(tempDir(), 'report.png');
  const shot = browse(page, `--screenshot=${png}`, '--window-size=1200,2000');
  assert.deepEqual(consoleLines(shot.stderr), []);
  assert.ok(statSync(png).size > 20_000, `screenshot of ${statSync(png).size} bytes`);
  const { width, height } = await sharp(png).metadata();
  assert.deepEqual([width, height], [1200, 2000]);
  const stats = await sharp(png).stats();
  assert.ok(stats.channels[0].stdev > 10, 'the screenshot is not a blank page');
  assert.ok(readFileSync(png).subarray(1, 4).toString() === 'PNG');
});

test('report.html with --against study in headless Chromium: no console errors, every table sortable', { skip: NO_CHROMIUM }, async () => {
  const results = tempDir();
  await writeFixtureStore(results);
  const out = tempDir();
  // The fixture's clip and dino stand in for the study's CLIP and DINO (labelled so in the page).
  await writeReport(results, ['html'], out, { source: 'study', standIns: new Map([['clip-vit-b32', 'clip'], ['dino-vitb16', 'dino']]) });
  const dom = browse(pathToFileURL(join(out, 'report.html')).href, '--dump-dom');
  assert.deepEqual(consoleLines(dom.stderr), []);
  const tables = (dom.stdout.match(/<table class="sortable"/g) ?? []).length;
  assert.ok(tables > 4, `${tables} tables`);
  assert.equal((dom.stdout.match(/<table class="sortable"[^>]*data-sortable="ready"/g) ?? []).length, tables);
  assert.match(dom.stdout, /<section id="against_study"><h2>Against study<\/h2>/);
  assert.match(dom.stdout, /clip \(stand-in for clip-vit-b32\)/);
});
