import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeForCard, geometry, packBatch } from '../../src/features/preprocess.ts';
import { prepareBatch } from '../../src/features/prepare-batch.ts';
import { resolveCard } from '../../src/backbones/registry.ts';
import type { OnnxCard, Preprocess } from '../../src/backbones/types.ts';
import { readNpy } from '../../src/util/npy.ts';
import { tempDir } from '../helpers.ts';
import { PARITY_CONFIGS, PARITY_IMAGES } from '../fixtures/preprocess/configs.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'preprocess');

function cardWith(pre: Partial<Preprocess>, size: number, layout: 'NCHW' | 'NHWC' = 'NCHW'): OnnxCard {
  return {
    id: 't',
    summary: '',
    weights: '',
    params: '',
    source: { kind: 'file', path: '' },
    input: { height: size, width: size, channels: 3, layout },
    preprocess: { resize: 'shorter', resizeTo: size, interpolation: 'bilinear', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], ...pre },
    output: { name: 'x', pooling: 'none' },
  };
}

test('resize and crop boxes match torchvision: shorter side, floor of the long side, round-half-even crop offsets', () => {
  const pre: Preprocess = { resize: 'shorter', resizeTo: 256, interpolation: 'bicubic', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
  // 253x256 (a UC Merced airplane): 256 * 256 / 253 = 259.03 → 259; (259 - 224) / 2 = 17.5 → 18 (even).
  assert.deepEqual(geometry(253, 256, pre, { width: 224, height: 224 }), { resized: { width: 256, height: 259 }, crop: { left: 16, top: 18, width: 224, height: 224 } });
  // 500x375 landscape: 256 * 500 / 375 = 341.33 → 341; (341 - 224) / 2 = 58.5 → 58 (even).
  assert.deepEqual(geometry(500, 375, pre, { width: 224, height: 224 }), { resized: { width: 341, height: 256 }, crop: { left: 58, top: 16, width: 224, height: 224 } });
  assert.deepEqual(geometry(500, 375, { ...pre, resize: 'stretch' }, { width: 224, height: 224 }).resized, { width: 224, height: 224 });
});

/**
 * Bounds on the difference to torchvision's tensors, as measured on the generated fixtures: the mean absolute
 * difference (normalized units), and the largest single difference in 8-bit gray levels (|diff| · std · 255).
 * Bilinear stays within 2 levels; bicubic reaches 16 on the upscaled digit and 12 on the 16-bit photo, where PIL's
 * and libvips' bicubic overshoot is clamped differently at hard edges. A half-pixel misalignment moves both.
 */
const MEAN_ABS = 0.008;
const MAX_LEVELS: Record<string, number> = { bilinear: 2, bicubic: 16 };

test("preprocessing matches torchvision's Resize + CenterCrop + Normalize (mean abs diff <= 0.008; max <= 2 gray levels bilinear, 16 bicubic) for RGB, gray, RGBA, 16-bit and an upscaled digit", async () => {
  for (const cfg of PARITY_CONFIGS) {
    const card = cardWith({ resizeTo: cfg.resizeTo, interpolation: cfg.interpolation, mean: [...cfg.mean] as Preprocess['mean'], std: [...cfg.std] as Preprocess['std'] }, cfg.size);
    for (const [i, name] of PARITY_IMAGES.entries()) {
      const ref = readNpy(readFileSync(join(fixtures, 'reference', `${cfg.name}__${i}.npy`)));
      assert.deepEqual(ref.shape, [3, cfg.size, cfg.size]);
      const ours = packBatch([await decodeForCard({ kind: 'file', path: join(fixtures, 'images', name) }, card)], card);
      const plane = cfg.size * cfg.size;
      let [sum, levels] = [0, 0];
      for (let k = 0; k < ours.length; k++) {
        const d = Math.abs(ours[k] - ref.data[k]);
        sum += d;
        levels = Math.max(levels, d * cfg.std[Math.floor(k / plane)] * 255);
      }
      const mad = sum / ours.length;
      if (process.env.REPROBE_VERBOSE) console.log(`${cfg.name} ${name}: mean abs diff ${mad.toFixed(4)}, max ${levels.toFixed(2)} levels`);
      assert.ok(mad <= MEAN_ABS, `${cfg.name} ${name}: mean abs diff ${mad.toFixed(4)}`);
      // 1e-3: float32 rounding of the normalized values; a difference is a whole number of levels otherwise.
      assert.ok(levels <= MAX_LEVELS[cfg.interpolation] + 1e-3, `${cfg.name} ${name}: max abs diff ${levels.toFixed(3)} gray levels`);
    }
  }
});

test('CMYK JPEG and EXIF-rotated images decode to the RGB picture they show', async () => {
  const dir = tempDir();
  const w = 40;
  const h = 24;
  const rgb = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) rgb.set([(p % w) * 6, Math.floor(p / w) * 10, 128], p * 3);
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  await sharp(rgb, raw).toColourspace('cmyk').jpeg({ quality: 100 }).toFile(join(dir, 'cmyk.jpg'));
  assert.equal((await sharp(join(dir, 'cmyk.jpg')).metadata()).space, 'cmyk');
  // Orientation 6 = stored rotated: the decoder must turn it back upright (h x w stored, w x h shown).
  await sharp(rgb, raw).rotate(-90).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'rot.jpg'));
  const card = cardWith({ resize: 'stretch' }, 16, 'NHWC');
  const want = await sharp(rgb, raw).resize(16, 16, { fit: 'fill' }).raw().toBuffer();
  for (const f of ['cmyk.jpg', 'rot.jpg']) {
    const got = await decodeForCard({ kind: 'file', path: join(dir, f) }, card);
    let sum = 0;
    for (let k = 0; k < got.length; k++) sum += Math.abs(got[k] - want[k]);
    // A round trip through sharp's default CMYK profile is lossy (about 10/255; PIL's profile-free conversion: 34/255).
    assert.ok(sum / got.length < (f === 'cmyk.jpg' ? 12 : 4), `${f}: mean abs diff ${(sum / got.length).toFixed(2)} of 255`);
  }
});

test('packBatch lays out NCHW planes and NHWC pixels with (x * scale - mean) / std', () => {
  const img = Uint8Array.from([0, 51, 102, 153, 204, 255, 10, 20, 30, 40, 50, 60]); // 2x2 RGB
  const pre = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] } as Partial<Preprocess>;
  const nchw = packBatch([img], cardWith(pre, 2, 'NCHW'));
  const nhwc = packBatch([img], cardWith(pre, 2, 'NHWC'));
  const f = (v: number, c: number) => (v / 255 - 0.5) / [0.5, 0.25, 1][c];
  for (let p = 0; p < 4; p++)
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(nchw[c * 4 + p] - f(img[p * 3 + c], c)) < 1e-6);
      assert.ok(Math.abs(nhwc[p * 3 + c] - f(img[p * 3 + c], c)) < 1e-6);
    }
});

test('raw pixels (MNIST) and the same pixels as a PNG file decode to the same tensor, enlarging and shrinking', async () => {
  const path = join(fixtures, 'images', 'digit.png');
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  const raw = { kind: 'raw', data: new Uint8Array(data), width: info.width, height: info.height, channels: 1 } as const;
  for (const card of [cardWith({ resizeTo: 40, interpolation: 'bicubic' }, 36), cardWith({ resize: 'stretch' }, 20, 'NHWC')]) {
    assert.deepEqual(await decodeForCard(raw, card), await decodeForCard({ kind: 'file', path }, card));
  }
});

test('a tiny file with extreme dimensions (20000x2 PNG) is a bad image: refused before its resize, skipped and listed in a batch', async () => {
  const dir = tempDir();
  const bomb = join(dir, 'bomb.png');
  await sharp({ create: { width: 20000, height: 2, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(bomb);
  assert.ok(readFileSync(bomb).length < 2000, 'a few hundred bytes on disk');
  const fine = join(dir, 'fine.png');
  await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 9, b: 9 } } }).png().toFile(fine);
  // DINO's card resizes the shorter side to 256: 2 → 256 makes 20000 → 2,560,000 (655M pixels).
  const card = resolveCard('dino-vits16');
  const rss = process.memoryUsage().rss;
  await assert.rejects(decodeForCard({ kind: 'file', path: bomb }, card), /20000x2 pixels: resized for the card it would be 2560000x256, over the budget/);
  assert.ok(process.memoryUsage().rss - rss < 200e6, 'nothing of the resize was allocated');
  const batch = await prepareBatch([{ id: 'a/bomb.png', source: { kind: 'file', path: bomb } }, { id: 'a/fine.png', source: { kind: 'file', path: fine } }], card);
  assert.deepEqual(batch.kept, [1]);
  assert.deepEqual(batch.skipped.map((s) => s.id), ['a/bomb.png']);
  assert.match(batch.skipped[0].reason, /over the budget/);
  // A stretch card (no shorter-side resize) reads a long strip fine: the budget is on pixels, not on the shape.
  assert.equal((await decodeForCard({ kind: 'file', path: bomb }, resolveCard('mobilenet-v2'))).length, 224 * 224 * 3);
});

test('an SVG (or a PDF) named .jpg is not decoded: refused with its format, skipped and listed like a corrupt image', async () => {
  const dir = tempDir();
  const svg = join(dir, 'photo.jpg');
  writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  assert.equal((await sharp(svg).metadata()).format, 'svg', 'libvips would load it by content');
  const pdf = join(dir, 'scan.png');
  writeFileSync(pdf, '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  const card = resolveCard('mobilenet-v2');
  await assert.rejects(decodeForCard({ kind: 'file', path: svg }, card), /a svg file, not a raster image/);
  const fine = join(dir, 'fine.png');
  await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 200, g: 9, b: 9 } } }).png().toFile(fine);
  const batch = await prepareBatch([svg, pdf, fine].map((path) => ({ id: path, source: { kind: 'file' as const, path } })), card);
  assert.deepEqual(batch.kept, [2]);
  assert.match(batch.skipped[0].reason, /not a raster image/);
  assert.equal(batch.skipped.length, 2);
});
