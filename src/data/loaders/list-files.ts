import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from '../../errors.ts';
import { column, readCsv } from '../csv.ts';
import { readMat5 } from '../mat5.ts';
import type { DatasetEntry } from '../types.ts';
import { fromRows, type Row } from './build.ts';

const FLOWERS_LAYOUT = '<data-root>/flowers102/jpg/image_NNNNN.jpg, flowers102/imagelabels.mat, flowers102/setid.mat (102flowers.tgz + the two .mat files)';
export const flowersEntry: DatasetEntry = {
  name: 'flowers102',
  summary: 'Oxford Flowers102: 102 flower classes, 8,189 images (imagelabels.mat + setid.mat)',
  dirs: ['flowers102', 'flowers-102', 'oxford_flowers102'],
  layout: FLOWERS_LAYOUT,
  source: 'https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz, imagelabels.mat, setid.mat)',
  downloads: [
    { url: 'https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz', file: '102flowers.tgz', into: 'flowers102', unpack: 'tar' },
    { url: 'https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat', file: 'imagelabels.mat', into: 'flowers102' },
    { url: 'https://www.robots.ox.ac.uk/~vgg/data/flowers/102/setid.mat', file: 'setid.mat', into: 'flowers102' },
  ],
  async load(_arg, { dir }) {
    const mat = async (f: string, key: string) => {
      const p = join(dir, f);
      const v = readMat5(new Uint8Array(await readFile(p).catch(() => Promise.reject(new DataError(`flowers102: ${p} is missing. Expected: ${FLOWERS_LAYOUT}.`)))), p).get(key);
      if (!v) throw new DataError(`${p} has no "${key}" array.`);
      return v;
    };
    const labels = await mat('imagelabels.mat', 'labels');
    const classes = Array.from({ length: Math.max(...labels) }, (_, c) => `class_${String(c + 1).padStart(3, '0')}`);
    const rows: Row[] = [...labels].map((l, i) => {
      const file = `image_${String(i + 1).padStart(5, '0')}.jpg`;
      return { id: file, rel: `jpg/${file}`, cls: classes[l - 1] };
    });
    const { dataset, indexOf } = fromRows('flowers102', dir, rows, classes);
    const ids = async (key: string) => [...new Set([...(await mat('setid.mat', key))].map((n) => indexOf.get(`image_${String(n).padStart(5, '0')}.jpg`)).filter((i): i is number => i !== undefined))];
    return { ...dataset, pools: { pool: await ids('trnid'), val: await ids('valid'), test: await ids('tstid') } };
  },
};

const FGVC_LAYOUT = '<data-root>/fgvc-aircraft-2013b/data/images/<id>.jpg with data/variants.txt and data/images_variant_{train,val,test}.txt';
export const fgvcEntry: DatasetEntry = {
  name: 'fgvc-aircraft',
  summary: 'FGVC-Aircraft 2013b: 100 aircraft variants, 10,000 images',
  dirs: ['fgvc-aircraft-2013b', 'fgvc-aircraft'],
  layout: FGVC_LAYOUT,
  source: 'https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz',
  downloads: [{ url: 'https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz', file: 'fgvc-aircraft-2013b.tar.gz', into: '.', unpack: 'tar' }],
  async load(_arg, { dir }) {
    const data = join(dir, 'data');
    const lines = (f: string) => {
      const p = join(data, f);
      if (!existsSync(p)) throw new DataError(`fgvc-aircraft: ${p} is missing. Expected: ${FGVC_LAYOUT}.`);
      return readFileSync(p, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    };
    const classes = lines('variants.txt');
    const parts = ['train', 'val', 'test'].map((s) =>
      lines(`images_variant_${s}.txt`).map((l): Row => {
        const sp = l.indexOf(' ');
        const id = l.slice(0, sp);
        return { id, rel: `images/${id}.jpg`, cls: l.slice(sp + 1) };
      }),
    );
    const { dataset, indexOf } = fromRows('fgvc-aircraft', data, parts.flat(), classes);
    const pool = (rows: Row[]) => [...new Set(rows.map((r) => indexOf.get(r.id)).filter((i): i is number => i !== undefined))];
    return { ...dataset, pools: { pool: pool(parts[0]), val: pool(parts[1]), test: pool(parts[2]) } };
  },
};

const ISIC_LAYOUT = '<data-root>/isic/metadata.csv (columns isic_id or image, and diagnosis; optional path) with images at isic/<path> or isic/images/<isic_id>.jpg';
const ISIC_LABELS = ['melanoma', 'nevus'];
export const isicEntry: DatasetEntry = {
  name: 'isic',
  summary: 'ISIC dermoscopy, the study\'s 2 labels (nevus, melanoma), from a CSV of image id + diagnosis',
  dirs: ['isic'],
  layout: ISIC_LAYOUT,
  source: 'https://api.isic-archive.com/ (export images + metadata.csv)',
  async load(_arg, { dir }) {
    const file = join(dir, 'metadata.csv');
    const rows = await readCsv(file);
    const idCol = column(rows, ['isic_id', 'image', 'image_id', 'image_name'], file);
    const labelCol = column(rows, ['diagnosis', 'label', 'dx'], file);
    const pathCol = Object.keys(rows[0] ?? {}).includes('path') ? 'path' : undefined;
    const listed = rows.map((r): Row => ({ id: r[idCol], rel: pathCol ? r[pathCol] : `images/${r[idCol]}.jpg`, cls: r[labelCol] }));
    // The study keeps the two labels; other diagnoses are listed as rejected, not silently dropped.
    const { dataset } = fromRows('isic', dir, listed, ISIC_LABELS);
    return { ...dataset, pools: { pool: dataset.samples.map((_, i) => i) } };
  },
};

export const csvEntry: DatasetEntry = {
  name: 'csv',
  summary: 'any CSV of images: columns path (relative to the CSV\'s folder) and label',
  arg: '<file.csv>',
  layout: 'a CSV with a header row: path (or filename, image) and label (or class); paths relative to the CSV\'s folder',
  async load(arg) {
    if (!arg) throw new DataError('The csv dataset needs a file: --dataset csv:<file.csv>.');
    const file = resolve(arg);
    const rows = await readCsv(file);
    if (rows.length === 0) throw new DataError(`"${arg}" has no rows.`);
    const pathCol = column(rows, ['path', 'filename', 'file', 'image'], arg);
    const labelCol = column(rows, ['label', 'class', 'category'], arg);
    const { dataset } = fromRows(`csv:${basename(arg)}`, dirname(file), rows.map((r) => ({ id: r[pathCol] ?? '', rel: r[pathCol] ?? '', cls: r[labelCol] ?? '' })));
    return dataset;
  },
};
