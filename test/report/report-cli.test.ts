import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { parseFormats, writeReport } from '../../src/report/write-report.ts';
import { tempDir } from '../helpers.ts';
import { writeFixtureStore } from './fixture-store.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const env = () => ({ ...process.env, REPROBE_HOME: tempDir() });
const reprobe = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: env() });
/** The CLI without blocking, so that two runs overlap. */
function reprobeAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { env: env() });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

test('report end to end: markdown on stdout, report.md, one csv per table and one self-contained report.html; missing files are notes', async () => {
  const results = tempDir();
  await writeFixtureStore(results);
  const out = join(tempDir(), 'out');
  const r = reprobe('report', results, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| model \| ft_10 \| knn_10 \| knn_100 \| lr_10 \| lr_100 \| performance order \| Best performance \|/);
  // The fixture names its backbones by alias (dino, clip): the report groups them under the card ids.
  assert.match(r.stdout, /\| dino-vits16 \| 0\.7400 \| 0\.7800 \| \*\*0\.9050\*\* \| \*\*0\.8900 ± 0\.0200 \(n=3\)\*\* \|/);
  assert.match(r.stdout, /Best OOD performance/);
  const csvs = ['cluster_ranking', 'drift_fmow_study', 'study_fmow_study', 'study_ucmerced_study'].map((n) => join(out, 'csv', `${n}.csv`));
  for (const p of [join(out, 'report.md'), join(out, 'report.html'), ...csvs]) {
    assert.ok(existsSync(p), p);
    assert.ok(r.stdout.includes(p), `${p} is listed on stdout`);
  }
  assert.equal(readFileSync(join(out, 'report.md'), 'utf8'), r.stdout.slice(0, r.stdout.indexOf('\nwritten:\n')));
  assert.equal(readFileSync(csvs[1], 'utf8').split('\n')[0], 'model,method,id,id_std,id_n,ood,ood_std,ood_n,id_minus_ood,id_minus_ood_std,id_minus_ood_n,relative_drop,relative_drop_std,relative_drop_n,best');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.equal((html.match(/<table /g) ?? []).length, 4);
  // Charts: OOD vs ID, knn and lr vs shots, clip's UMAP (its ids scoped), clip's curve; dino's missing UMAP and curve are notes.
  assert.equal((html.match(/<svg /g) ?? []).length, 5);
  assert.match(html, /id="clustering-0-clip1".*url\(#clustering-0-clip1\)/);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\/|@import|url\(["']?https?:/i, 'nothing loaded from elsewhere');
  assert.match(r.stderr, /note: dino-vits16 on ucmerced \(all, seed 0\): UMAP, ARI 0\.640: not shown, .*dinoumap\/all-umap\.svg is missing/);
  assert.match(r.stderr, /note: dino-vits16 finetune on ucmerced, train all, 10 shots, seed 0: no curve, .*dinoft\/epochs\.jsonl is missing/);

  // --out defaults to RESULTS/report; --format picks the files.
  const md = reprobe('report', results, '--format', 'md');
  assert.equal(md.status, 0, md.stderr);
  assert.ok(existsSync(join(results, 'report', 'report.md')) && !existsSync(join(results, 'report', 'report.html')));
});

test('report on an empty or missing store, or with an unknown format: one line, exit 2; --help has an example', async () => {
  const [empty, help, cap] = await Promise.all([reprobeAsync('report', tempDir()), reprobeAsync('report', '--help'), reprobeAsync('report', tempDir(), '--gallery-images', '-1')]);
  assert.equal(cap.status, 2);
  assert.match(cap.stderr, /^reprobe: --gallery-images -1: a whole number of 0 or more \(0: every image\), e\.g\. --gallery-images 500\.\n$/);
  assert.match(help.stdout, /--no-galleries|--galleries/);
  assert.match(help.stdout, /McNemar's\s+exact\s+test,\s+Holm\s+over/);
  assert.equal(empty.status, 2, empty.stderr);
  assert.match(empty.stderr, /^reprobe: No results in .*records: run `reprobe probe` or another method's command first, or name the results folder \(`reprobe report DIR`\)\.\n$/);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /reprobe report \[results\]/);
  assert.match(help.stdout, /Examples:\n\s+reprobe report /);
  // The same checks in process (each spawn costs seconds): a missing folder, an unknown format.
  await assert.rejects(writeReport(join(tempDir(), 'nothing-here'), ['md'], tempDir()), (e: unknown) => e instanceof ConfigError && /^No results in .*nothing-here/.test(e.message));
  assert.throws(() => parseFormats('md,pdf'), (e: unknown) => e instanceof ConfigError && e.message === '--format md,pdf: unknown format "pdf". Known: md, csv, html (comma-separated, e.g. --format md,html).');
  assert.deepEqual(parseFormats(' HTML,md,html '), ['html', 'md']);
});
