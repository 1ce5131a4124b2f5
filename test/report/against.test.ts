import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { METHODS } from '../../src/jobs/methods.ts';
import { againstSection, type Against } from '../../src/report/against.ts';
import { parsePublished, publishedValue } from '../../src/report/published.ts';
import { isStat, type Cell, type ReportTable } from '../../src/report/report-table.ts';
import { writeJobRecords } from '../../src/results/job-store.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { tempDir } from '../helpers.ts';

const STUDY = parsePublished(readFileSync(join(import.meta.dirname, '..', '..', 'configs', 'published', 'study-001.csv'), 'utf8'), 'study-001.csv');
/** 1523 cells less the 84 printed orders (66 in the general fine-tuning tables, 18 in the WILDS ones). */
const NUMERIC = 1523 - 84;

let at = 0;
/** A record as the runner writes one; the test sets what it compares. */
function rec(f: Partial<CellRecord> & Pick<CellRecord, 'dataset' | 'backbone' | 'method' | 'shots' | 'value'>): CellRecord {
  const r = { run_id: 'r', task: f.method === 'cluster' ? 'cluster' : 'probe', model: 'm', layer: 'l', runtime: 'x', protocol: 'study', seed: 0, split_hash: 'h', split_file: 's', eval_split: 'test', metric: f.method === 'cluster' ? 'ari' : 'accuracy', n_train: 1, n_val: 1, n_test: 100, n_classes: 2, skipped_images: 0, features_key: null, features_from_cache: false, extract_seconds: 0, images_per_second: 0, fit_seconds: 0, schema_version: 1, versions: { reprobe: '0.1.0', commit: null, dirty: null, diff_sha256: null, node: '20', onnxruntime: '1', tfjs: '4', sharp: '0' }, time: new Date(Date.UTC(2026, 0, 1, 0, 0, at++)).toISOString(), presentation: METHODS.get(f.method)?.presentation, ...f } as unknown as CellRecord;
  r.cell_id = `${r.dataset}|${r.backbone}|${r.method}|${r.shots}|${r.seed}|${r.eval_split}`;
  r.config_id = `${r.dataset}|${r.backbone}|${r.method}|${r.shots}|${r.eval_split}`;
  return r;
}

/*
 * A few reproduced cells. The offline embedded mobilenet-v2 on the digits stands in for the paper's CLIP on UC Merced
 * (--stand-in clip-vit-b32=mobilenet-v2 ucmerced=mnist); dino-vitb16 and vit-b32 keep their ids, on the digits too.
 */
const mn = { dataset: 'mnist' } as const;
const FEW: CellRecord[] = [
  rec({ ...mn, backbone: 'mobilenet-v2', method: 'knn', shots: 10, value: 0.8 }),
  rec({ ...mn, backbone: 'dino-vitb16', method: 'knn', shots: 10, value: 0.9 }),
  rec({ ...mn, backbone: 'vit-b32', method: 'knn', shots: 10, value: 0.6 }),
  rec({ ...mn, backbone: 'mobilenet-v2', method: 'lr', shots: 100, value: 0.5, n_test: 10000 }),
  rec({ ...mn, backbone: 'dino-vitb16', method: 'lr', shots: 100, value: 0.97 }),
  rec({ ...mn, backbone: 'vit-b32', method: 'lr', shots: 100, value: 0.95, ci95: { low: 0.93, high: 0.97, level: 0.95, resamples: 1000 } }),
  ...[[0.2, 0.19], [0.22, 0.2]].flatMap(([id, ood], seed) => [
    rec({ dataset: 'fmow', backbone: 'mobilenet-v2', method: 'knn', shots: 10, value: id, eval_split: 'id_test', seed }),
    rec({ dataset: 'fmow', backbone: 'mobilenet-v2', method: 'knn', shots: 10, value: ood, eval_split: 'ood_test', seed }),
  ]),
  rec({ ...mn, backbone: 'mobilenet-v2', method: 'cluster', shots: 0, value: 0.7, eval_split: 'all' }),
  // iWildCam's headline is macro-F1: the paper's accuracy is compared with the record's accuracy field.
  rec({ dataset: 'iwildcam', backbone: 'dino-vitb16', method: 'lr', shots: 10, value: 0.3, metric: 'f1_macro', accuracy: 0.25, eval_split: 'id_test' }),
];
const STAND_INS = new Map([['clip-vit-b32', 'mobilenet-v2'], ['ucmerced', 'mnist']]);
const AGAINST: Against = { name: 'study', cells: STUDY, standIns: STAND_INS };

const table = (ts: ReportTable[], name: string) => ts.find((t) => t.name === name) ?? assert.fail(`no table ${name}: ${ts.map((t) => t.name).join(', ')}`);
const num = (c: Cell) => (isStat(c) ? c.mean : c);
/** Equal to the 6 significant digits the comparison tables print (their seeds' means are full precision). */
const near = (a: Cell, b: number, what: string) => assert.ok(typeof num(a) === 'number' && Math.abs((num(a) as number) - b) <= 5e-6 * Math.abs(b) + 1e-12, `${what}: ${String(num(a))} ≠ ${b}`);
/** A cells table's row by paper model and column. */
const row = (t: ReportTable, model: string, column: string) => t.rows.find((r) => r[0] === model && r[2] === column) ?? assert.fail(`${t.name}: no ${model} ${column}`);

test('coverage: cells reproduced / published, per family, stand-ins labelled', () => {
  const s = againstSection(FEW, AGAINST);
  // knn_10 and lr_100 of 3 models on UC Merced, each printed twice (probe and fine-tuning tables): 12; FMoW knn_10 id, ood
  // and the difference, each printed twice: 6; iWildCam lr_10_id twice: 2; UC Merced clustering: 1.
  const cov = table(s.tables, 'against_study_coverage');
  // Outside: dino's knn_10 and mobilenet's lr_100 (below), iWildCam dino lr_10_id 0.25 vs 0.143488 (explained 2 √(0.25·0.75/100)); each twice.
  assert.deepEqual(cov.rows.at(-1), ['all', NUMERIC, 21, 6]);
  assert.deepEqual(cov.rows.find((r) => r[0] === 'probe'), ['probe', 286, 6, 2]);
  assert.match(s.notes[0], new RegExp(`21 of ${NUMERIC} published cells reproduced`));
  assert.ok(s.notes.some((n) => n === "Stand-in: our mobilenet-v2 is compared with the paper's clip-vit-b32; it is not that model or dataset."));
  assert.equal(row(table(s.tables, 'against_study_probe-UCMerced_Dataset'), 'CLIP', 'knn_10')[1], 'mobilenet-v2 (stand-in for clip-vit-b32)');
});

test('each cell: the paper, ours, the difference, our spread and the flag (hand-computed)', () => {
  const s = againstSection(FEW, AGAINST);
  const uc = table(s.tables, 'against_study_probe-UCMerced_Dataset');
  // mobilenet knn_10 0.8 vs 0.78777; explained 2 √(0.8·0.2/100) = 0.08: inside.
  const clip = row(uc, 'CLIP', 'knn_10');
  near(clip[3], 0.78777, 'paper');
  near(clip[5], 0.8 - 0.78777, 'diff');
  near(clip[8], 0.08, 'explained');
  assert.equal(clip[9], '');
  // dino 0.9 vs 0.781475 (diff 0.1185 > 2 √(0.09·0.01)... = 0.06): outside.
  assert.equal(row(uc, 'DINO', 'knn_10')[9], 'outside');
  near(row(uc, 'DINO', 'knn_10')[8], 0.06, 'explained');
  // mobilenet lr_100 0.5 on 10000 images vs 0.934394: outside (explained 0.01).
  assert.equal(row(uc, 'CLIP', 'lr_100')[9], 'outside');
  // vit-b32 with a bootstrap interval [0.93, 0.97]: se = 0.04 / 3.92, explained = 2 se; 0.95 vs 0.944334 inside.
  const vit = row(uc, 'vit_b_32', 'lr_100');
  assert.deepEqual([vit[6], vit[7]], [0.93, 0.97]);
  near(vit[8], (2 * 0.04) / 3.92, 'explained from the interval');
  assert.equal(vit[9], '');
  // FMoW over two seeds: ID 0.21 ± 0.01414, OOD 0.195 ± 0.00707, ID − OOD per seed (0.01, 0.02) → 0.015 ± 0.00707.
  const fm = table(s.tables, 'against_study_drift-probe-FMoWDataset');
  const d = row(fm, 'CLIP', 'knn_10_id_minus_ood')[4];
  assert.ok(isStat(d));
  near(d.mean, 0.015, 'mean diff');
  near(d.std!, Math.SQRT1_2 / 100, 'std of the diffs');
  near(row(fm, 'CLIP', 'knn_10_id_minus_ood')[5], 0.015 - 0.00542139, 'ours − paper');
  near(row(fm, 'CLIP', 'knn_10_id_test')[4], 0.21, 'id mean');
  // Seeds redraw training images, not the test set: its error √(0.21·0.79/100) adds to the seeds' std √0.0002.
  near(row(fm, 'CLIP', 'knn_10_id_test')[8], 2 * Math.sqrt(0.0002 + (0.21 * 0.79) / 100), 'explained over seeds');
  // Clustering, one seed, ARI: no error known.
  assert.equal(row(table(s.tables, 'against_study_cluster-UCMerced_Dataset'), 'CLIP', 'cluster_all')[9], 'no spread');
  // iWildCam: the record's accuracy (0.25), not its macro-F1 headline.
  near(row(table(s.tables, 'against_study_drift-probe-IWildCamDataset'), 'DINO', 'lr_10_id_test')[4], 0.25, 'accuracy field');
});

test("rankings: the paper's order beside ours with Spearman's ρ (hand-computed)", () => {
  const t = table(againstSection(FEW, AGAINST).tables, 'against_study_rankings');
  // knn_10: paper CLIP .788 > DINO .781 > vit_b_32 .675; ours DINO .9 > CLIP .8 > vit .6. Ranks (2,1,3) vs (3,1,2): ρ = 1/2.
  const knn = t.rows.find((r) => r[0] === 'probe/UCMerced_Dataset' && r[1] === 'knn_10')!;
  assert.deepEqual(knn.slice(2), [3, 0.5, 'CLIP>DINO>vit_b_32', 'DINO>CLIP>vit_b_32']);
  const lr = t.rows.find((r) => r[0] === 'finetune/UCMerced_Dataset' && r[1] === 'lr_100')!;
  assert.deepEqual(lr.slice(2), [3, 1, 'DINO>vit_b_32>CLIP', 'DINO>vit_b_32>CLIP']);
  // Columns with fewer than 3 models are left out.
  assert.ok(!t.rows.some((r) => r[1] === 'knn_10_id_test'));
});

test("the paper's anomalies: both EfficientNets near chance in every probe table, fine-tuning well on the same data", () => {
  const t = table(againstSection([], AGAINST).tables, 'against_study_anomalies');
  const flagged = t.rows.map((r) => `${String(r[0])} ${String(r[1])}`).sort();
  const probes = ['Dataset_DTD', 'Dataset_FGVCAircraft', 'Dataset_Flowers102', 'ISIC', 'PatternNet_Dataset', 'UCMerced_Dataset'];
  assert.deepEqual(flagged, probes.flatMap((d) => [`probe/${d} efficientnet_b2`, `probe/${d} efficientnet_b6`]).sort());
  const pn = t.rows.find((r) => r[0] === 'probe/PatternNet_Dataset' && r[1] === 'efficientnet_b2')!;
  // Mean of 0.029934, 0.0318264, 0.0427106, 0.0660142; chance 1/38; fine-tuning reaches 0.996077.
  near(pn[2], (0.029934 + 0.0318264 + 0.0427106 + 0.0660142) / 4, 'row mean');
  near(pn[3], 1 / 38, 'chance');
  assert.deepEqual([pn[5], pn[6]], ['finetune/PatternNet_Dataset', 0.996077]);
});

test('the anomaly rule is general: a renamed model is flagged, a row near chance that fails everywhere is not', () => {
  const renamed = STUDY.map((c) => (c.study_model === 'efficientnet_b2' ? { ...c, study_model: 'net_x' } : c));
  const rows = table(againstSection([], { ...AGAINST, cells: renamed }).tables, 'against_study_anomalies').rows;
  assert.equal(rows.filter((r) => r[1] === 'net_x').length, 6);
  // Fine-tuning at chance too: not the probe's fault, not flagged.
  const failing = STUDY.filter((c) => c.study_model !== 'efficientnet_b2' || c.family === 'probe' || c.method !== 'finetune');
  const none = table(againstSection([], { ...AGAINST, cells: failing.map((c) => (c.study_model === 'efficientnet_b2' && c.family === 'finetune' ? { ...c, value: '0.03' } : c)) }).tables, 'against_study_anomalies').rows;
  assert.ok(!none.some((r) => r[1] === 'efficientnet_b2'));
});

test("the study's full grid in a generated store: every published number reproduced, the paper's own differences recomputed", () => {
  // One record per published measured cell, its value the paper's (the first table that prints it).
  const seen = new Map<string, CellRecord>();
  for (const c of STUDY.filter((x) => x.kind === 'measured')) {
    const key = JSON.stringify([c.dataset, c.model, c.method, c.shots, c.set]);
    if (!seen.has(key)) seen.set(key, rec({ dataset: c.dataset, backbone: c.model, method: c.method, shots: c.shots, eval_split: c.set, value: publishedValue(c), n_test: 1000 }));
  }
  const s = againstSection([...seen.values()], { ...AGAINST, standIns: new Map() });
  assert.deepEqual(table(s.tables, 'against_study_coverage').rows.at(-1)?.slice(0, 3), ['all', NUMERIC, NUMERIC]);
  // The paper's printed ID − OOD against the same from its printed ID and OOD: equal up to its 6 significant digits.
  const diffs = s.tables.filter((t) => t.name.startsWith('against_study_drift')).flatMap((t) => t.rows.filter((r) => String(r[2]).endsWith('id_minus_ood')));
  assert.equal(diffs.length, 2 * 9 * (4 + 4 + 3));
  for (const r of diffs) assert.ok(Math.abs(r[5] as number) < 2e-6, `${String(r[0])} ${String(r[2])}: ${String(r[5])}`);
  // Every ranking with ours = the paper's numbers has ρ = 1 in the probe tables.
  for (const r of table(s.tables, 'against_study_rankings').rows.filter((x) => String(x[0]).startsWith('probe/'))) assert.equal(r[3], 1, `${String(r[0])} ${String(r[1])}`);
  // With the values of the tables that print the orders (the last to print each cell), our orders are the paper's, but
  // for ISIC efficientnet_b6, whose knn_10 and knn_100 tie at 0.5 (the paper put knn_100 first).
  const last = new Map<string, CellRecord>();
  for (const c of STUDY.filter((x) => x.kind === 'measured')) last.set(JSON.stringify([c.dataset, c.model, c.method, c.shots, c.set]), rec({ dataset: c.dataset, backbone: c.model, method: c.method, shots: c.shots, eval_split: c.set, value: publishedValue(c) }));
  const orders = table(againstSection([...last.values()], { ...AGAINST, standIns: new Map() }).tables, 'against_study_orders').rows;
  assert.equal(orders.length, 84);
  assert.deepEqual(orders.filter((r) => r[4] !== 'same').map((r) => [r[0], r[1], r[3]]), [['finetune/ISIC', 'efficientnet_b6', '100>1000>10>lr_100>lr_10>knn_10>knn_100']]);
});

test('reprobe report --against study: markdown, csv and the html page; without --against the report is as before', async () => {
  const results = tempDir();
  await writeJobRecords(results, 'few', FEW);
  const out = join(tempDir(), 'out');
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
  const r = spawnSync(process.execPath, [bin, 'report', results, '--out', out, '--against', 'study', '--stand-in', 'clip-vit-b32=mobilenet-v2,ucmerced=mnist'], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /## Against study/);
  assert.match(r.stdout, new RegExp(`Coverage: 21 of ${NUMERIC} published cells reproduced`));
  assert.match(r.stdout, /\| CLIP \| mobilenet-v2 \(stand-in for clip-vit-b32\) \| lr_100 \| 0\.934394 \|/);
  const csv = readFileSync(join(out, 'csv', 'against_study_coverage.csv'), 'utf8');
  assert.equal(csv.split('\n')[0], 'family,published,reproduced,outside_spread');
  assert.ok(existsSync(join(out, 'csv', 'against_study_anomalies.csv')));
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<section id="against_study"><h2>Against study<\/h2>/);
  const plain = spawnSync(process.execPath, [bin, 'report', results, '--out', join(tempDir(), 'o'), '--format', 'md'], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(plain.status, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /Against/);
  const bad = spawnSync(process.execPath, [bin, 'report', results, '--against', 'study', '--stand-in', 'clip'], { encoding: 'utf8' });
  assert.match(bad.stderr, /--stand-in clip: expected PAPER=OURS/);
  // Any other published table in the same format: here two cells of a made-up paper.
  const mine = join(tempDir(), 'other-paper.csv');
  const head = 'table,family,row,dataset,study_dataset,model,study_model,method,shots,set,metric,classes,kind,value,text';
  writeFileSync(mine, `${head}\nT1,probe,0,mnist,MNIST,dino-vitb16,DINO,knn,10,test,accuracy,10,measured,0.91,\nT1,probe,1,mnist,MNIST,vit-b32,ViT,knn,10,test,accuracy,10,measured,0.5,\n`);
  const other = spawnSync(process.execPath, [bin, 'report', results, '--out', join(tempDir(), 'o2'), '--format', 'md,csv', '--against', mine], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout, /## Against other-paper/);
  assert.match(other.stdout, /Coverage: 2 of 2 published cells reproduced/);
  assert.match(other.stdout, /\| DINO \| dino-vitb16 \| knn_10 \| 0\.91 \|/);
  const missing = spawnSync(process.execPath, [bin, 'report', results, '--against', join(tempDir(), 'none.csv')], { encoding: 'utf8' });
  assert.match(missing.stderr, /Cannot read --against .*none\.csv.*[Pp]ass `study` or a CSV/);
});
