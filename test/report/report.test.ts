import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterRanking } from '../../src/report/cluster-ranking.ts';
import { confusedPairsTable } from '../../src/report/confused-pairs.ts';
import { buildReport } from '../../src/report/sections.ts';
import { tableCsv } from '../../src/report/csv.ts';
import { drifts, driftTables } from '../../src/report/drift.ts';
import { inlineSvg, reportHtml } from '../../src/report/html.ts';
import { reportMarkdown, tableMarkdown } from '../../src/report/markdown.ts';
import { bestMarks, isStat, type Cell, type ReportTable } from '../../src/report/report-table.ts';
import { parseCurve } from '../../src/report/read-assets.ts';
import { meanStd, seedStat as seedStatOf } from '../../src/report/stats.ts';
import { studyTables } from '../../src/report/study.ts';
import { latestPerCell, readStore } from '../../src/results/job-store.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { tempDir } from '../helpers.ts';
import { writeFixtureStore } from './fixture-store.ts';

async function fixture(): Promise<CellRecord[]> {
  const dir = tempDir();
  await writeFixtureStore(dir);
  return latestPerCell((await readStore(dir)).records);
}

/** A table's cell as [mean, std, n] (a label as it is), to compare with hand-computed numbers. */
const plain = (c: Cell) => (isStat(c) ? [c.mean, c.std, c.n] : c);
const close = (actual: number | null, expected: number | null, what: string) =>
  expected === null ? assert.equal(actual, null, what) : assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
const marked = (t: ReportTable) => bestMarks(t).map((r, i) => t.columns.filter((_, j) => r[j]).map((c) => `${String(t.rows[i][0])}:${c.name}`)).flat();

test('mean ± sample std (ddof = 1) with n', () => {
  const s = meanStd([0.87, 0.89, 0.91]);
  close(s.mean, 0.89, 'mean');
  close(s.std, 0.02, 'std: sqrt((0.02² + 0 + 0.02²) / 2)');
  assert.equal(s.n, 3);
  assert.deepEqual(meanStd([0.5]), { mean: 0.5, std: null, n: 1 });
});

test("the study's table: columns in its order, rows by best performance, performance order, best, seeds as mean ± std", async () => {
  const uc = studyTables(await fixture()).find((t) => t.name === 'study_ucmerced_study')!;
  assert.deepEqual(uc.columns.map((c) => c.name), ['model', 'ft_10', 'knn_10', 'knn_100', 'lr_10', 'lr_100', 'performance order', 'Best performance']);
  // Fine-tuning in the table: rows by Best performance (dino 0.97 above clip 0.93).
  assert.deepEqual(uc.rows.map((r) => r[0]), ['dino', 'clip']);
  const [dino, clip] = uc.rows;
  assert.equal(dino[6], 'lr_100>knn_100>lr_10>knn_10>ft_10');
  assert.equal(clip[6], 'lr_100>knn_100>lr_10>ft_10>knn_10');
  assert.deepEqual(plain(dino[7]), [0.97, null, 1]);
  assert.deepEqual(plain(clip[7]), [0.93, null, 1]);
  // dino's lr_10 over seeds 0, 1, 2 (0.87, 0.89, 0.91).
  const lr10 = dino[4];
  assert.ok(isStat(lr10));
  close(lr10.mean, 0.89, 'dino lr_10 mean');
  close(lr10.std, 0.02, 'dino lr_10 std');
  assert.equal(lr10.n, 3);
  // clip's knn_10 was rerun with the same seed (another cell id): the newer number, once.
  assert.deepEqual(plain(clip[2]), [0.79, null, 1]);
  assert.deepEqual(marked(uc), ['dino:knn_100', 'dino:lr_10', 'dino:lr_100', 'dino:Best performance', 'clip:ft_10', 'clip:knn_10']);
});

test('WILDS: ID and OOD columns, performance order and "Best OOD performance" over the OOD columns, probe rows by the lr OOD column', async () => {
  const fmow = studyTables(await fixture()).find((t) => t.name === 'study_fmow_study')!;
  assert.deepEqual(fmow.columns.map((c) => c.name), ['model', 'knn_10_id_test', 'knn_10_ood_test', 'lr_10_id_test', 'lr_10_ood_test', 'performance order', 'Best OOD performance']);
  assert.deepEqual(fmow.rows.map((r) => r[0]), ['clip', 'dino'], 'lr_10_ood_test: clip 0.12 > dino 0.0975');
  assert.deepEqual(fmow.rows.map((r) => r[5]), ['knn_10_ood_test>lr_10_ood_test', 'knn_10_ood_test>lr_10_ood_test']);
  // clip's knn_10 over seeds 0 and 1: ID 0.2, 0.22; OOD 0.18, 0.18.
  const [id, ood] = [fmow.rows[0][1], fmow.rows[0][2]];
  assert.ok(isStat(id) && isStat(ood));
  close(id.mean, 0.21, 'id mean');
  close(id.std, Math.SQRT2 * 0.01, 'id std');
  assert.deepEqual([ood.mean, ood.std, ood.n], [0.18, 0, 2]);
  assert.deepEqual(plain(fmow.rows[1][6]), [0.17, null, 1]);
});

test('drift: ID, OOD, ID − OOD and (ID − OOD) / ID per backbone and method, per seed then averaged; best per method', async () => {
  const records = await fixture();
  const d = drifts(records.filter((r) => r.dataset === 'fmow'));
  assert.deepEqual(d.map((x) => `${x.backbone} ${x.column}`), ['clip knn_10', 'dino knn_10', 'clip lr_10', 'dino lr_10']);
  const [clipKnn, dinoKnn, clipLr, dinoLr] = d;
  // Seeds 0 and 1: drops 0.02 and 0.04, relative 0.02 / 0.2 = 0.1 and 0.04 / 0.22.
  close(clipKnn.diff.mean, 0.03, 'clip knn diff');
  close(clipKnn.diff.std, Math.SQRT2 * 0.01, 'clip knn diff std');
  close(clipKnn.relDrop.mean, (0.1 + 0.04 / 0.22) / 2, 'clip knn relative drop');
  close(clipKnn.relDrop.std, Math.abs(0.04 / 0.22 - 0.1) / Math.SQRT2, 'clip knn relative drop std');
  assert.equal(clipKnn.diff.n, 2);
  close(dinoKnn.diff.mean, 0, 'dino knn diff');
  close(clipLr.diff.mean, 0.01, 'clip lr diff');
  close(clipLr.relDrop.mean, 0.01 / 0.13, 'clip lr relative drop');
  close(dinoLr.diff.mean, 0.0025, 'dino lr diff');
  close(dinoLr.relDrop.mean, 0.025, 'dino lr relative drop');
  const [table] = driftTables(records);
  assert.equal(table.name, 'drift_fmow_study');
  assert.deepEqual(table.columns.map((c) => c.name), ['model', 'method', 'id', 'ood', 'id_minus_ood', 'relative_drop']);
  // Per method: highest ID and OOD, smallest drops.
  assert.deepEqual(marked(table), ['clip:id', 'clip:ood', 'dino:id_minus_ood', 'dino:relative_drop', 'clip:id', 'clip:ood', 'dino:id_minus_ood', 'dino:relative_drop']);
  assert.equal(driftTables(records.filter((r) => r.dataset === 'ucmerced')).length, 0, 'no OOD set, no drift table');
});

test('clustering: per dataset, set and method the backbones ranked by ARI, rank 1 marked', async () => {
  const t = clusterRanking(await fixture());
  assert.deepEqual(
    t.rows.map((r) => r.slice(0, 5).join(' ')),
    ['fmow id_test cluster 1 clip', 'fmow id_test cluster 2 dino', 'fmow ood_test cluster 1 clip', 'fmow ood_test cluster 2 dino', 'ucmerced all cluster 1 clip', 'ucmerced all cluster 2 dino', 'ucmerced all kmeans 1 dino', 'ucmerced all kmeans 2 clip'],
  );
  assert.deepEqual(plain(t.rows[4][5]), [0.68, null, 1]);
  const ari = bestMarks(t).map((r) => r[5]);
  assert.deepEqual(ari, [true, false, true, false, true, false, true, false]);
});

test('markdown bolds the best, shows mean ± std (n); csv keeps plain numbers with std, n and best in their own columns', async () => {
  const uc = studyTables(await fixture()).find((t) => t.name === 'study_ucmerced_study')!;
  const md = tableMarkdown(uc).split('\n');
  assert.equal(md[0], '| model | ft_10 | knn_10 | knn_100 | lr_10 | lr_100 | performance order | Best performance |');
  assert.equal(md[2], '| dino | 0.7400 | 0.7800 | **0.9050** | **0.8900 ± 0.0200 (n=3)** | **0.9700** | lr_100>knn_100>lr_10>knn_10>ft_10 | **0.9700** |');
  const csv = tableCsv(uc).trimEnd().split('\n');
  assert.equal(csv.length, 3, 'one header row, one line per backbone');
  assert.equal(
    csv[0],
    'model,ft_10,ft_10_std,ft_10_n,knn_10,knn_10_std,knn_10_n,knn_100,knn_100_std,knn_100_n,lr_10,lr_10_std,lr_10_n,lr_100,lr_100_std,lr_100_n,performance order,Best performance,Best performance_std,Best performance_n,best',
  );
  assert.equal(csv[1], 'dino,0.74,,1,0.78,,1,0.905,,1,0.89,0.02,3,0.97,,1,lr_100>knn_100>lr_10>knn_10>ft_10,0.97,,1,knn_100;lr_10;lr_100;Best performance');
  assert.equal(csv[2], 'clip,0.85,,1,0.79,,1,0.9,,1,0.88,,1,0.93,,1,lr_100>knn_100>lr_10>ft_10>knn_10,0.93,,1,ft_10;knn_10');
});

test('an SVG inlined in the page: no prolog, scripts, handlers or namespace URLs; ids and their references scoped', () => {
  const svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()"><script>alert(1)</script><clipPath id="clip1"/><use href="#clip1"/><g clip-path="url(#clip1)"/></svg>';
  assert.equal(inlineSvg(svg, 'f-2'), '<svg><clipPath id="f-2-clip1"/><use href="#f-2-clip1"/><g clip-path="url(#f-2-clip1)"/></svg>');
});

test('a fine-tuning curve file: the epochs with numbers, other lines skipped', () => {
  const text = '{"epoch":1,"train_loss":2,"val_loss":2.5,"val_accuracy":0.25,"best_epoch":1,"seconds":3}\nnot json\n{"epoch":2,"train_loss":1}\n\n{"epoch":3,"train_loss":1,"val_loss":1.5,"val_accuracy":0.5}\n';
  assert.deepEqual(parseCurve(text), [
    { epoch: 1, train_loss: 2, val_loss: 2.5, val_accuracy: 0.25 },
    { epoch: 3, train_loss: 1, val_loss: 1.5, val_accuracy: 0.5 },
  ]);
});

test('confused pairs the runs recorded: one row per pair with its counts; none recorded, no table', () => {
  const base = { dataset: 'fruits360', backbone: 'clip', method: 'zeroshot', shots: 0, seed: 0, eval_split: 'test' } as unknown as CellRecord;
  const rec = { ...base, confused_pairs: [{ a: 'Apple Braeburn', b: 'Apple Red 1', iou: 0.25, m_ab: 6, m_ba: 4, n_a: 20, n_b: 20 }] } as CellRecord;
  const t = confusedPairsTable([base, rec])!;
  assert.deepEqual(t.rows, [['fruits360', 'clip', 'zeroshot', 0, 0, 'test', 1, 'Apple Braeburn', 'Apple Red 1', 0.25, 6, 4, 20, 20]]);
  assert.equal(confusedPairsTable([base]), undefined);
});

test('a record whose predictions collapsed to one class is flagged beside its table', async () => {
  const recs = await fixture();
  const i = recs.findIndex((r) => r.task === 'probe');
  const flagged = recs.map((r, j) => (j === i ? { ...r, collapsed: true } : r));
  const notes = (rs: CellRecord[]) => buildReport(rs, { curves: new Map(), svgs: new Map(), predictions: new Map() }, 'x').sections.flatMap((s) => s.notes);
  assert.equal(notes(recs).filter((n) => n.includes('every prediction is one class')).length, 0);
  assert.deepEqual(notes(flagged).filter((n) => n.includes('every prediction is one class')).map((n) => n.startsWith(`${recs[i].backbone} ${recs[i].method}`)), [true]);
});

test('a cell averages the seeds of its newest configuration only: another layer or split size is not another seed', () => {
  const base = { backbone: 'b', method: 'lr', dataset: 'd', protocol: 'shots', shots: 2, eval_split: 'test', metric: 'accuracy', task: 'probe' };
  const rs = [
    { ...base, seed: 0, value: 0.5, config_id: 'old', time: '2026-01-01T00:00:00Z' },
    { ...base, seed: 1, value: 0.7, config_id: 'old', time: '2026-01-01T00:00:01Z' },
    { ...base, seed: 0, value: 0.9, config_id: 'new', time: '2026-01-02T00:00:00Z' },
  ] as unknown as CellRecord[];
  assert.deepEqual(plain(seedStatOf(rs)), [0.9, null, 1]);
  const two = plain(seedStatOf(rs.slice(0, 2))) as number[];
  assert.deepEqual([two[0], two[2]], [0.6, 2]);
  assert.ok(Math.abs(two[1] - Math.sqrt(0.02)) < 1e-12);
});

test('report.md shows names from the store as text: HTML escaped, | kept in its cell, a newline never ends a row', () => {
  const evil = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', 'a|b', 'two\nlines', 'R&D'];
  const table: ReportTable = { name: 't', title: 'confused on <b>x</b>', columns: [{ name: 'class' }, { name: 'n<2' }], rows: evil.map((c) => [c, 1]) };
  const md = reportMarkdown({ title: 'r', summary: 'from <i>store</i>', sections: [{ title: 'dataset <script>', tables: [table], notes: ['<img src=y onerror=z>'] }] } as Parameters<typeof reportMarkdown>[0]);
  assert.doesNotMatch(md, /<(script|img|b|i)\b/, 'no HTML tag reaches report.md');
  const rows = md.split('\n').filter((l) => l.startsWith('| '));
  assert.equal(rows.length, 2 + evil.length, 'one line per row');
  assert.deepEqual(rows.slice(2), [
    '| &lt;script>alert(1)&lt;/script> | 1 |',
    '| &lt;img src=x onerror=alert(1)> | 1 |',
    '| a\\|b | 1 |',
    '| two\\nlines | 1 |',
    '| R&amp;D | 1 |',
  ]);
  assert.match(md, /^## dataset &lt;script>$/m);
  assert.match(md, /^- &lt;img src=y onerror=z>$/m);
  assert.match(md, /^from &lt;i>store&lt;\/i>$/m);
});

test('report.html shows control characters of names and notes escaped (an escape sequence, a bidi override, a NUL from a dataset path), as report.md does', () => {
  const path = 'folder:/data/\x1b[31mred\u202eevil\0x';
  const table: ReportTable = { name: 't', title: `${path}: accuracy`, columns: [{ name: 'model' }], rows: [[`m\x07`]] };
  const report = { title: 'r', summary: `1 results from ${path}`, sections: [{ id: 's', title: path, tables: [table], figures: [], notes: [`${path}: one shot level`] }] };
  const html = reportHtml(report, new Map());
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(html, /[\x00-\x08\x0b-\x1f\x7f\u202e]/, 'no raw control character');
  assert.match(html, /<li>folder:\/data\/\\u001b\[31mred\\u202eevil\\0x: one shot level<\/li>/);
  assert.match(html, /<td>m\\u0007<\/td>/);
  const md = reportMarkdown(report as Parameters<typeof reportMarkdown>[0]);
  assert.ok(md.includes('- folder:/data/\\u001b[31mred\\u202eevil\\0x: one shot level'), md);
});
