import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../../errors.ts';
import { column, readCsv } from '../csv.ts';
import type { Dataset, DatasetEntry } from '../types.ts';
import { fromRows, type Row } from './build.ts';

/** Index sets by split name (train, val, id_val, id_test, test) in sample order. */
function poolsBy(splitOf: readonly string[]): Record<string, number[]> {
  const pools: Record<string, number[]> = {};
  splitOf.forEach((s, i) => (pools[s] ??= []).push(i));
  return pools;
}

function groupsOf(field: string, values: readonly string[], excludeFromWorst?: string[]): Dataset['groups'] {
  const names = [...new Set(values)].sort();
  const idx = new Map(names.map((n, i) => [n, i]));
  return { field, names, of: Int32Array.from(values, (v) => idx.get(v)!), ...(excludeFromWorst ? { excludeFromWorst } : {}) };
}

/** WILDS' protocol: train on train, select on val (OOD val), score the ID and OOD test sets separately. */
const WILDS_SETS: Dataset['official'] = { train: 'train', val: 'val', tests: { id_test: 'id_test', ood_test: 'test' } };

const IWILDCAM_LAYOUT = '<data-root>/iwildcam_v2.0/metadata.csv, categories.csv and train/<filename> (the WILDS iWildCam v2.0 archive)';
export const iwildcamEntry: DatasetEntry = {
  name: 'iwildcam',
  summary: 'WILDS iWildCam v2.0: camera-trap species, ID vs OOD (new locations) splits, macro-F1',
  dirs: ['iwildcam_v2.0', 'iwildcam'],
  layout: IWILDCAM_LAYOUT,
  source: 'https://worksheets.codalab.org/rest/bundles/0x5a405f743c4b4c66a16cc09cc3a858ca/contents/blob/ (WILDS iwildcam_v2.0)',
  downloads: [{ url: 'https://worksheets.codalab.org/rest/bundles/0x5a405f743c4b4c66a16cc09cc3a858ca/contents/blob/', file: 'iwildcam_v2.0.tar.gz', into: 'iwildcam_v2.0', unpack: 'tar' }],
  async load(_arg, { dir }) {
    const metaFile = join(dir, 'metadata.csv');
    const meta = await readCsv(metaFile);
    const [split, y, filename] = [column(meta, ['split'], metaFile), column(meta, ['y'], metaFile), column(meta, ['filename'], metaFile)];
    const loc = column(meta, ['location_remapped', 'location'], metaFile);
    // WILDS labels are y (0..181); categories.csv names them.
    const catFile = join(dir, 'categories.csv');
    const names = new Map<number, string>();
    if (existsSync(catFile)) {
      const cats = await readCsv(catFile);
      const [yCol, nameCol] = [column(cats, ['y'], catFile), column(cats, ['name'], catFile)];
      for (const c of cats) names.set(Number(c[yCol]), c[nameCol]);
    }
    // A loop, not Math.max(...rows): spreading iWildCam's 203k rows overflows the call stack.
    let maxY = Math.max(-1, ...names.keys());
    for (const r of meta) maxY = Math.max(maxY, Number(r[y]));
    const classes = Array.from({ length: maxY + 1 }, (_, i) => names.get(i) ?? `y${i}`);
    const rows: Row[] = meta.map((r) => ({ id: r[filename], rel: `train/${r[filename]}`, cls: classes[Number(r[y])] }));
    const { dataset, rowOf } = fromRows('iwildcam', dir, rows, classes);
    // Per sample, its own metadata row (a repeated or rejected row has no sample).
    const kept = rowOf.map((at) => meta[at]);
    return { ...dataset, pools: poolsBy(kept.map((r) => r[split])), official: WILDS_SETS, metric: 'macro_f1', groups: groupsOf('location', kept.map((r) => r[loc])) };
  },
};

const FMOW_LAYOUT = '<data-root>/fmow_v1.1/rgb_metadata.csv, country_code_mapping.csv and images/rgb_img_<row>.png (the WILDS FMoW v1.1 archive)';
/** WILDS' official FMoW scheme (time_after_2016): OOD test from 2016, OOD val 2013-2015, in-distribution before 2013. */
const TEST_FROM = Date.UTC(2016, 0, 1);
const VAL_FROM = Date.UTC(2013, 0, 1);
export const fmowEntry: DatasetEntry = {
  name: 'fmow',
  summary: 'WILDS FMoW v1.1: 62 land-use classes from satellite images, ID vs OOD by year, average and worst-region accuracy',
  dirs: ['fmow_v1.1', 'fmow'],
  layout: FMOW_LAYOUT,
  source: 'https://worksheets.codalab.org/rest/bundles/0xaec91eb7c9d548ebb15e1b5e60f966ab/contents/blob/ (WILDS fmow_v1.1)',
  downloads: [{ url: 'https://worksheets.codalab.org/rest/bundles/0xaec91eb7c9d548ebb15e1b5e60f966ab/contents/blob/', file: 'fmow_v1.1.tar.gz', into: 'fmow_v1.1', unpack: 'tar' }],
  async load(_arg, { dir }) {
    const metaFile = join(dir, 'rgb_metadata.csv');
    const meta = await readCsv(metaFile);
    const [split, category, timestamp, country] = [column(meta, ['split'], metaFile), column(meta, ['category'], metaFile), column(meta, ['timestamp'], metaFile), column(meta, ['country_code'], metaFile)];
    const regionOf = new Map<string, string>();
    const mapFile = join(dir, 'country_code_mapping.csv');
    if (!existsSync(mapFile)) throw new DataError(`fmow: ${mapFile} is missing (it maps countries to the regions of the worst-region metric).`);
    const map = await readCsv(mapFile);
    for (const r of map) regionOf.set(r[column(map, ['alpha-3'], mapFile)], r[column(map, ['region'], mapFile)]);
    const rows: Row[] = [];
    const splitOf: string[] = [];
    const regions: string[] = [];
    meta.forEach((r, i) => {
      if (r[split] === 'seq') return; // sequestered: no labels
      const t = Date.parse(r[timestamp]);
      const ood = t >= TEST_FROM ? 'test' : t >= VAL_FROM ? 'val' : undefined;
      // The same mapping as WILDS: train and val/test rows before 2013 are in-distribution, later ones OOD.
      const s = r[split] === 'train' ? (ood ? undefined : 'train') : r[split] === 'val' ? (ood === 'val' ? 'val' : ood ? undefined : 'id_val') : r[split] === 'test' ? (ood === 'test' ? 'test' : ood ? undefined : 'id_test') : undefined;
      if (!s) return;
      rows.push({ id: `rgb_img_${i}`, rel: `images/rgb_img_${i}.png`, cls: r[category] });
      splitOf.push(s);
      regions.push(regionOf.get(r[country]) ?? 'Other');
    });
    const classes = [...new Set(meta.map((r) => r[category]))].sort();
    const { dataset, rowOf } = fromRows('fmow', dir, rows, classes);
    return {
      ...dataset,
      pools: poolsBy(rowOf.map((at) => splitOf[at])),
      official: WILDS_SETS,
      // WILDS' worst-region accuracy leaves out "Other" (countries without a region).
      groups: groupsOf('region', rowOf.map((at) => regions[at]), ['Other']),
    };
  },
};
