/**
 * `reprobe models export` end to end, offline: a random-weight checkpoint folder written by transformers'
 * save_pretrained → export (tools/hf_export.py, checked against transformers' own features) → probe on it. Needs a
 * Python with torch, transformers and onnx (tools/make-venv.sh makes one; CI runs it); skips with a line without.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { findPython } from '../../src/jobs/export-model.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
let python: string | undefined;
try {
  python = findPython();
} catch (err) {
  python = undefined;
  console.log(`# models export tests skip: ${(err as Error).message}`);
}
const skip = !python && 'no Python with torch, transformers and onnx (tools/make-venv.sh)';

function reprobe(args: string[], home: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, REPROBE_HOME: home }, timeout: 300_000 }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

/**
 * ViT checkpoints with random weights as save_pretrained writes them, made once for the file in one Python process
 * (importing torch and transformers is most of its time): `tiny` with a BEiT-style processor (224 x 224 bicubic,
 * mean/std 0.5), `bare-vit` without a preprocessor_config.json. The tests only read them.
 */
let made: { tiny: string; bare: string } | undefined;
function checkpoints(): { tiny: string; bare: string } {
  if (made) return made;
  const dir = tempDir();
  const tiny = join(dir, 'tiny');
  const bare = join(dir, 'bare-vit');
  const code = `
import transformers, torch
for path, processor in ((${JSON.stringify(tiny)}, True), (${JSON.stringify(bare)}, False)):
    torch.manual_seed(3)
    c = transformers.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, image_size=224, patch_size=16)
    transformers.ViTModel(c).save_pretrained(path)
    if processor:
        transformers.ViTImageProcessorPil(size={"height": 224, "width": 224}, resample=3, image_mean=[0.5]*3, image_std=[0.5]*3).save_pretrained(path)
`;
  const r = spawnSync(python!, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  made = { tiny, bare };
  return made;
}

/** Two classes of 6 generated 64 x 48 images: stripes one way or the other. */
async function dataset(dir: string): Promise<void> {
  for (const [c, name] of ['across', 'down'].entries()) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const px = Buffer.alloc(64 * 48 * 3);
      for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) px.fill(((c ? x : y) * (9 + i)) % 256, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
      await sharp(px, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(join(dir, name, `${i}.png`));
    }
  }
}

test('models export FOLDER: model.onnx and a card from its config and processor, checked against transformers, then probe runs on it', { skip, timeout: 600_000 }, async () => {
  const dir = tempDir();
  const ckpt = checkpoints().tiny;
  const out = join(dir, 'exported');
  const r = await reprobe(['models', 'export', ckpt, '--out', out], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /checked against transformers on 8 images: cosine worst (0\.99\d+|1\.0+)/);
  const card = JSON.parse(readFileSync(join(out, 'card.json'), 'utf8'));
  // From the checkpoint's own files: config.json (hidden 16, patch 16, 224) and preprocessor_config.json.
  assert.deepEqual(card.input, { name: 'pixel_values', height: 224, width: 224, channels: 3, layout: 'NCHW' });
  assert.deepEqual(card.output, { name: 'last_hidden_state', pooling: 'cls' });
  assert.equal(card.featureDim, 16);
  assert.equal(card.patch, 16);
  assert.equal(card.preprocess.resize, 'stretch');
  assert.equal(card.preprocess.interpolation, 'bicubic');
  assert.deepEqual(card.preprocess.std, [0.5, 0.5, 0.5]);
  assert.deepEqual(readdirSync(out).sort(), ['card.json', 'model.onnx'], 'no temp folder is left behind');

  const data = join(dir, 'data');
  await dataset(data);
  const p = await reprobe(['probe', '--backbone', join(out, 'model.onnx'), '--card', join(out, 'card.json'), '--dataset', `folder:${data}`, '--shots', '3', '--val-per-class', '1', '--results-dir', join(dir, 'results')], dir);
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /model\.onnx\s+lr\s+test\s+accuracy\s+[01]\.\d{4}/);
});

test('models export FOLDER without a preprocessor_config.json: the references and the card both take ViTImageProcessor\'s defaults', { skip, timeout: 600_000 }, async () => {
  const dir = tempDir();
  const ckpt = checkpoints().bare;
  const out = join(dir, 'exported');
  const r = await reprobe(['models', 'export', ckpt, '--out', out], dir);
  assert.equal(r.code, 0, r.err);
  const card = JSON.parse(readFileSync(join(out, 'card.json'), 'utf8'));
  assert.deepEqual([card.preprocess.resize, card.preprocess.interpolation, card.preprocess.mean, card.preprocess.std], ['stretch', 'bilinear', [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]);
});

test('models export NAME --from FOLDER: a checkpoint that is not the card\'s model is refused in one line and nothing lands', { skip, timeout: 600_000 }, async () => {
  const dir = tempDir();
  const ckpt = checkpoints().tiny;
  const r = await reprobe(['models', 'export', 'dino-vits16', '--from', ckpt], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /^reprobe: .*tiny is a vit checkpoint with 16-d features; dino-vits16's card says 384-d\. Is it dino-vits16's checkpoint\?$/m);
  assert.equal(r.err.trim().split('\n').filter((l) => l.startsWith('reprobe:')).length, 1);
  const cached = join(dir, 'models', 'Xenova', 'dino-vits16', 'main', 'onnx');
  assert.deepEqual(existsSync(cached) ? readdirSync(cached) : [], [], 'no model file and no temp folder');
});

test('models export: a Python without torch, transformers and onnx gets one line naming what to install', async () => {
  const dir = tempDir();
  const fake = join(dir, 'python');
  writeFileSync(fake, '#!/bin/sh\necho "torch,transformers,onnx"\n');
  chmodSync(fake, 0o755);
  const r = await reprobe(['models', 'export', 'vit-b32', '--python', fake], dir);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /^reprobe: models export needs Python with torch, transformers, onnx: .*lacks torch, transformers, onnx\. Install them \(pip install torch transformers onnx/m);
});
