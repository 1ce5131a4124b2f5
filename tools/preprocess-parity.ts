/**
 * Preprocessing parity on real photos: reprobe's normalized tensor vs torchvision's (tools/torchvision_preprocess.py,
 * Debian python3-torchvision) for every distinct preprocessing of the study cards, on UC Merced (JPEG and original
 * TIFF), DTD and ISIC images from ../shared. Target: mean abs diff <= 0.02 after normalization.
 *   node --import tsx tools/preprocess-parity.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STUDY_CARDS } from '../src/backbones/cards/study.ts';
import { decodeForCard, packBatch } from '../src/features/preprocess.ts';
import { readNpy } from '../src/util/npy.ts';
import { tempDir } from '../test/helpers.ts';

const shared = join(import.meta.dirname, '..', '..', 'shared', 'data');
if (!existsSync(shared)) {
  console.log('needs ../shared/data (real photos); nothing to compare');
  process.exit(0);
}
const images = [
  'ucmerced/Images/airplane/airplane00.jpg',
  'ucmerced/Images/airplane/airplane55.jpg', // 253x256
  'ucmerced/Images/harbor/harbor10.jpg', // 257x257
  'ucmerced/tif_originals/forest/forest01.tif',
  'dtd/images/cobwebbed/cobwebbed_0030.jpg',
  'dtd/images/banded/banded_0002.jpg',
  'isic/images/melanoma/ISIC_0000002.jpg',
].map((p) => join(shared, p)).filter(existsSync);

const configs = new Map<string, (typeof STUDY_CARDS)[number]>();
for (const c of STUDY_CARDS) configs.set(JSON.stringify([c.preprocess, c.input.height]), c);
const job = {
  images,
  out: tempDir(),
  configs: [...configs.values()].map((c, i) => ({ name: `c${i}`, resizeTo: c.preprocess.resizeTo, size: c.input.height, interpolation: c.preprocess.interpolation, mean: c.preprocess.mean, std: c.preprocess.std })),
};
execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'torchvision_preprocess.py')], { input: JSON.stringify(job), stdio: ['pipe', 'ignore', 'inherit'] });
let worst = 0;
console.log('cards'.padEnd(62) + 'resize→crop  interp    per-image mean abs diff (normalized units)');
for (const [i, card] of [...configs.values()].entries()) {
  const diffs: number[] = [];
  for (const [k, path] of images.entries()) {
    const ref = readNpy(readFileSync(join(job.out, `c${i}__${k}.npy`))).data;
    const ours = packBatch([await decodeForCard({ kind: 'file', path }, card)], card);
    let s = 0;
    for (let j = 0; j < ours.length; j++) s += Math.abs(ours[j] - ref[j]);
    diffs.push(s / ours.length);
  }
  worst = Math.max(worst, ...diffs);
  const users = STUDY_CARDS.filter((c) => JSON.stringify([c.preprocess, c.input.height]) === JSON.stringify([card.preprocess, card.input.height])).map((c) => c.id);
  console.log(`${users.join(',').padEnd(62)}${`${card.preprocess.resizeTo}→${card.input.height}`.padEnd(13)}${card.preprocess.interpolation.padEnd(10)}${diffs.map((d) => d.toFixed(4)).join(' ')}`);
}
console.log(`worst ${worst.toFixed(4)} (target <= 0.02): ${worst <= 0.02 ? 'met' : 'MISSED'}`);
process.exitCode = worst <= 0.02 ? 0 : 1;
