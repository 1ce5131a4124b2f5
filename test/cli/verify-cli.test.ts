import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { openBackbone } from '../../src/backbones/registry.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { takeRows, type Matrix } from '../../src/util/matrix.ts';
import { writeNpy } from '../../src/util/npy.ts';
import { tinyConvNet } from '../fixtures/onnx-fixtures.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const dir = tempDir();
const images = join(dir, 'images');
mkdirSync(join(images, 'sub'), { recursive: true });
const IDS = ['b.png', 'c.png', 'sub/a.png'];
for (const [i, id] of IDS.entries()) {
  const px = Array.from({ length: 40 * 40 }, (_, k) => [(k * (i + 3)) % 256, ((k >> 3) * 7 * (i + 1)) % 256, 90 * i]).flat();
  await sharp(Buffer.from(px), { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(images, id));
}

const model = join(dir, 'conv.onnx');
writeFileSync(model, tinyConvNet({ size: 32, stride: 4, dim: 10 }));
const other = join(dir, 'other.onnx');
writeFileSync(other, tinyConvNet({ size: 32, stride: 4, dim: 10, seed: 7 })); // the same graph with other weights
const card = join(dir, 'card.json');
writeFileSync(card, JSON.stringify({ input: { height: 32, width: 32 }, output: { name: 'pooler_output' } }));

const bb = await openBackbone(model, { runtime: 'auto', card });
const ref: Matrix = (await extractFeatures(bb, IDS.map((id) => ({ id, source: { kind: 'file', path: join(images, id) }, label: 0 })), { batchSize: 2 })).features;
await bb.dispose();
const npy = (name: string, m: Matrix) => {
  writeFileSync(join(dir, name), writeNpy({ data: m.data, shape: [m.rows, m.cols] }));
  return join(dir, name);
};
const reference = npy('ref.npy', ref);

function reprobe(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'models', 'verify', ...args], { env: { ...process.env, REPROBE_HOME: dir } }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

test('models verify: exit 0 and a table when every image is within the tolerance, exit 1 (not an error) when one is not', async () => {
  const [ok, bad] = await Promise.all([
    reprobe([model, '--card', card, '--images', images, '--reference', reference]),
    reprobe([other, '--card', card, '--images', images, '--reference', reference, '--tolerance', '0.9999']),
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^conv @ pooler_output\[none\] on onnxruntime-node /m);
  assert.match(ok.out, /^images\s+3\s+10\s+1\.0000000\s+\S+\s+\S+\s+1\.0000000\s+pass$/m);
  assert.match(ok.out, /tolerance 0\.999\b/);
  assert.equal(bad.code, 1, bad.err);
  assert.doesNotMatch(bad.err, /reprobe:/);
  assert.match(bad.out, /^images\s+3\s+10\s+-?\d\.\d{7}\s.*FAIL \(\d of 3 below\)$/m);
  assert.match(bad.out, /tolerance 0\.9999\b/);
});

test('models verify: a row count, a missing file or rows of another size are one line and exit 2', async () => {
  const runs = await Promise.all([
    reprobe([model, '--card', card, '--images', images, '--reference', npy('two.npy', takeRows(ref, [0, 1]))]),
    reprobe([model, '--card', card, '--images', images, '--reference', join(dir, 'missing.npy')]),
    reprobe([model, '--card', card, '--images', images, '--reference', npy('wide.npy', { rows: 3, cols: 4, data: new Float32Array(12) })]),
  ]);
  const expected = [/two\.npy has 2 rows but .*images has 3 images/, /Reference file ".*missing\.npy" does not exist/, /wide\.npy rows have 4 values; conv @ pooler_output\[none\] gives 10/];
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${i}: ${r.err}`);
    assert.equal(r.out, '');
    // The progress line of the images already embedded (rows of another size show after the model ran), then the error.
    const lines = r.err.trim().split('\n').filter((l) => !/^verify .*images\)$/.test(l));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^reprobe: /);
    assert.match(lines[0], expected[i]);
  });
});
