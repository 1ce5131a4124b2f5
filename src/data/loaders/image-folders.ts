import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFolder } from '../folder.ts';
import type { DatasetEntry } from '../types.ts';
import { perClassShare } from './build.ts';

const UCM_LAYOUT = '<data-root>/ucmerced/Images/<class>/<class>NN.tif (the UCMerced_LandUse.zip contents; .jpg copies work too)';
export const ucmercedEntry: DatasetEntry = {
  name: 'ucmerced',
  summary: 'UC Merced Land Use: 21 aerial scene classes x 100 images (TIFF)',
  dirs: ['ucmerced', 'UCMerced_LandUse'],
  layout: UCM_LAYOUT,
  source: 'http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip',
  downloads: [{ url: 'http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip', file: 'UCMerced_LandUse.zip', into: '.', unpack: 'zip' }],
  async load(_arg, { dir }) {
    const ds = await loadFolder(join(dir, 'Images'));
    // The study's pool: 60 % of each class (1260 of 2100), fixed by seed 0, as in the common 1260/420/420 split.
    const pool = perClassShare(ds.samples.map((s) => s.label), (n) => Math.round(n * 0.6));
    return { ...ds, name: 'ucmerced', pools: { pool } };
  },
};

const PN_LAYOUT = '<data-root>/patternnet/images/<class>/<class>NNN.jpg (the PatternNet.zip contents)';
export const patternnetEntry: DatasetEntry = {
  name: 'patternnet',
  summary: 'PatternNet: 38 remote-sensing classes x 800 images',
  dirs: ['patternnet', 'PatternNet'],
  layout: PN_LAYOUT,
  source: 'https://sites.google.com/view/zhouwx/dataset (PatternNet.zip)',
  async load(_arg, { dir }) {
    const ds = await loadFolder(join(dir, 'images'));
    return { ...ds, name: 'patternnet', pools: { pool: ds.samples.map((_, i) => i) } };
  },
};

const DTD_LAYOUT = '<data-root>/dtd/images/<class>/<class>_NNNN.jpg and dtd/labels/train1.txt, val1.txt (the dtd-r1.0.1.tar.gz contents)';
export const dtdEntry: DatasetEntry = {
  name: 'dtd',
  summary: 'Describable Textures: 47 texture classes x 120 images',
  dirs: ['dtd'],
  layout: DTD_LAYOUT,
  source: 'https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz',
  downloads: [{ url: 'https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz', file: 'dtd-r1.0.1.tar.gz', into: '.', unpack: 'tar' }],
  async load(_arg, { dir }) {
    const ds = await loadFolder(join(dir, 'images'));
    // The study's pool: official train1 + val1 (40 per class); without those lists, 40 per class fixed by seed 0.
    const lists = ['train1.txt', 'val1.txt'].map((f) => join(dir, 'labels', f));
    let pool: number[];
    if (lists.every(existsSync)) {
      const wanted = new Set(lists.flatMap((f) => readFileSync(f, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)));
      pool = ds.samples.flatMap((s, i) => (wanted.has(s.id) ? [i] : []));
    } else pool = perClassShare(ds.samples.map((s) => s.label), (n) => Math.min(n, 40));
    return { ...ds, name: 'dtd', pools: { pool } };
  },
};
