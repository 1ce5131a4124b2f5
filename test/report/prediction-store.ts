import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeJobRecords } from '../../src/results/job-store.ts';
import { topOf } from '../../src/method/predictions.ts';
import { writePredictions } from '../../src/results/predictions.ts';
import type { CellRecord } from '../../src/results/record.ts';
import { fixtureRecord } from './fixture-store.ts';

/** tools/paired_reference.py: 60 images of 4 classes, 4 models' predictions, and scipy's Holm-adjusted McNemar p between adjacent ranks. */
export const REF = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'paired', 'paired-reference.json'), 'utf8')) as {
  paired: { truth: number[] };
  ranks: { preds: number[][]; order: number[]; adjacent_holm: number[] };
};
export const CLASSES = ['c0', 'c1', 'c2', 'c3'];
/** Image i of the reference is `c<truth>/img<i>.png` in the dataset folder: its id. */
export const imageId = (i: number) => `${CLASSES[REF.paired.truth[i]]}/img${String(i).padStart(2, '0')}.png`;

/** One colour per class, so a thumbnail shows which class it is. */
const COLOURS: [number, number, number][] = [[200, 40, 40], [40, 160, 60], [40, 80, 200], [220, 180, 30]];

/**
 * A generated store on the reference's 60 images, as `folder:<dir>/images` (real PNG files, 24×18, one colour per class):
 * lr_10 of m0…m3 (the reference's predictions, each record's value its accuracy) with their predictions files, `old`
 * (lr_10, a record from before predictions were kept), and knn_10 of m0 and m1 where m1 ran on the first 50 images only.
 */
export async function writePredictionStore(dir: string): Promise<{ dataset: string; records: CellRecord[] }> {
  const images = join(dir, 'images');
  const { truth } = REF.paired;
  for (const [i, t] of truth.entries()) {
    mkdirSync(join(images, CLASSES[t]), { recursive: true });
    const [r, g, b] = COLOURS[t];
    await sharp({ create: { width: 24, height: 18, channels: 3, background: { r, g, b: (b + 7 * i) % 256 } } }).png().toFile(join(images, imageId(i)));
  }
  const dataset = `folder:${images}`;
  let t = 0;
  const records: CellRecord[] = [];
  const add = async (backbone: string, method: string, pred: number[] | null, n = truth.length) => {
    const right = pred ? pred.slice(0, n).filter((p, i) => p === truth[i]).length : 30;
    const r = fixtureRecord({ dataset, backbone, method, shots: 10, value: right / n, n_test: n, n_classes: 4 }, t++);
    if (pred) {
      const scores = Array.from({ length: n * 4 }, (_, j) => (pred[Math.floor(j / 4)] === j % 4 ? 0.9 : 0.1 / 3));
      r.predictions = await writePredictions(dir, `${r.cell_id.replace(/[^A-Za-z0-9._-]+/g, '_')}.${r.run_id}`, CLASSES, { ids: truth.slice(0, n).map((_, i) => imageId(i)), truth: truth.slice(0, n), pred: pred.slice(0, n), ...topOf(scores, 4) });
    }
    records.push(r);
  };
  for (const [m, pred] of REF.ranks.preds.entries()) await add(`m${m}`, 'lr', pred);
  await add('old', 'lr', null);
  await add('m0', 'knn', REF.ranks.preds[0]);
  await add('m1', 'knn', REF.ranks.preds[1], 50);
  // m0's UMAP of the 60 images: coordinates on a circle by class, beside the plot the run left.
  const run = join(dir, 'runs', 'm0umap');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'all-umap.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="9" fill="teal"/></svg>');
  writeFileSync(join(run, 'all-umap.csv'), ['umap1,umap2,class', ...truth.map((c, i) => `${(c + Math.cos(i)).toFixed(4)},${(Math.sin(i) - c).toFixed(4)},${CLASSES[c]}`)].join('\n') + '\n');
  const cluster = fixtureRecord({ dataset, backbone: 'm0', method: 'cluster', shots: 10, value: 0.5, eval_split: 'all', plot: join(run, 'all-umap.png'), coordinates: join(run, 'all-umap.csv') }, t++);
  cluster.predictions = await writePredictions(dir, 'm0-cluster', CLASSES, { ids: truth.map((_, i) => imageId(i)), truth, cluster: truth.map((c) => (c + 1) % 4) });
  records.push(cluster);
  await writeJobRecords(dir, 'generated', records);
  return { dataset, records };
}
