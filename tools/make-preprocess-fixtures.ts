/**
 * Generates test/fixtures/preprocess: small synthetic images in the colour formats reprobe must convert (RGB, gray,
 * RGBA, 16-bit, an upscaled digit) and torchvision's reference tensors for them (tools/torchvision_preprocess.py,
 * Debian python3-torchvision). Deterministic; rerun only when the fixture set changes:
 *   node --import tsx tools/make-preprocess-fixtures.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadMnist } from '../src/data/mnist.ts';
import { seeded } from '../src/util/rng.ts';
import { PARITY_CONFIGS, PARITY_IMAGES } from '../test/fixtures/preprocess/configs.ts';

const root = join(import.meta.dirname, '..', 'test', 'fixtures', 'preprocess');
const imgDir = join(root, 'images');
mkdirSync(imgDir, { recursive: true });

/** Smooth gradients, a sinusoid and a few hard-edged rectangles: both interpolation regimes matter. */
function pattern(w: number, h: number, channels: number, seed: number, max = 255): number[] {
  const rng = seeded(seed);
  const rects = Array.from({ length: 5 }, () => [rng() * w, rng() * h, rng() * w * 0.4, rng() * h * 0.4, rng()]);
  const px: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) {
        let v = (x / w) * 0.5 + (y / h) * 0.3 * (c + 1) * 0.5 + 0.2 * Math.sin((x + 2 * y) / (3 + c));
        for (const [rx, ry, rw, rh, rv] of rects) if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) v = rv * (c === 1 ? 0.6 : 1);
        px.push(Math.round(Math.min(1, Math.max(0, v)) * max));
      }
  return px;
}

const make: Record<string, () => Promise<void>> = {
  'rgb.png': () => sharp(Buffer.from(pattern(80, 60, 3, 1)), { raw: { width: 80, height: 60, channels: 3 } }).png().toFile(join(imgDir, 'rgb.png')).then(() => undefined),
  'gray.png': () => sharp(Buffer.from(pattern(61, 90, 1, 2)), { raw: { width: 61, height: 90, channels: 1 } }).toColourspace('b-w').png().toFile(join(imgDir, 'gray.png')).then(() => undefined),
  'rgba.png': () => {
    const rgb = pattern(70, 70, 3, 3);
    const rgba = Buffer.alloc(70 * 70 * 4);
    for (let p = 0; p < 70 * 70; p++) rgba.set([rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2], (p * 7) % 256], p * 4);
    return sharp(rgba, { raw: { width: 70, height: 70, channels: 4 } }).png().toFile(join(imgDir, 'rgba.png')).then(() => undefined);
  },
  'rgb16.png': () => {
    const v = Uint16Array.from(pattern(64, 48, 3, 4, 65535));
    return sharp(Buffer.from(v.buffer), { raw: { width: 64, height: 48, channels: 3, premultiplied: false } as never })
      .toColourspace('rgb16')
      .png()
      .toFile(join(imgDir, 'rgb16.png'))
      .then(() => undefined);
  },
  'digit.png': async () => {
    const d = (await loadMnist()).samples[7].source;
    if (d.kind !== 'raw') throw new Error('mnist sample is not raw');
    await sharp(Buffer.from(d.data), { raw: { width: d.width, height: d.height, channels: d.channels } }).toColourspace('b-w').png().toFile(join(imgDir, 'digit.png'));
  },
};
for (const name of PARITY_IMAGES) await make[name]();
const meta = await Promise.all(PARITY_IMAGES.map(async (n) => ({ n, m: await sharp(join(imgDir, n)).metadata() })));
for (const { n, m } of meta) console.log(`${n}: ${m.width}x${m.height} ${m.channels}ch ${m.depth} ${m.space}`);

const refDir = join(root, 'reference');
rmSync(refDir, { recursive: true, force: true });
const python = process.env.REPROBE_PYTHON ?? '/usr/bin/python3';
const job = { images: PARITY_IMAGES.map((n) => join(imgDir, n)), configs: PARITY_CONFIGS, out: refDir };
writeFileSync(join(root, 'job.json'), JSON.stringify({ ...job, images: PARITY_IMAGES, out: 'reference' }, null, 1));
console.log(execFileSync(python, [join(import.meta.dirname, 'torchvision_preprocess.py')], { input: JSON.stringify(job), encoding: 'utf8' }).trim());
