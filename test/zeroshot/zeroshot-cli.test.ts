import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { colorClipModels, colorTokenizer, normalized, tokenVector } from '../fixtures/clip-color.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const REPO = 'Xenova/clip-vit-base-patch32';
const models = colorClipModels();
const tok = colorTokenizer();
const enc = new TextEncoder();
const hub = await startHub({
  [`${REPO}/onnx/vision_model.onnx`]: models.vision,
  [`${REPO}/onnx/text_model.onnx`]: models.text,
  [`${REPO}/vocab.json`]: enc.encode(tok.vocabJson),
  [`${REPO}/merges.txt`]: enc.encode(tok.mergesTxt),
});
after(() => hub.close());

const CLASSES = ['blue', 'green', 'red'];
/** Solid colours per class folder: mostly their own colour, some closer to another class's. */
const IMAGES: Record<string, number[][]> = {
  blue: [[10, 20, 240], [40, 60, 200], [120, 30, 160], [90, 200, 180], [0, 0, 255]],
  green: [[20, 230, 30], [60, 180, 90], [200, 220, 40], [30, 90, 200], [0, 255, 0]],
  red: [[240, 10, 20], [200, 90, 60], [180, 40, 170], [220, 200, 30], [255, 0, 0]],
};
const TEMPLATES = ['a photo of a {c}.', 'the {c} thing.'];

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
/** The class weights worked out from the token table: mean token vector per prompt, normalised, averaged, normalised. */
function classWeights(): number[][] {
  const id = (w: string) => tok.vocab[`${w}</w>`];
  return CLASSES.map((c) => {
    const sum = [0, 0, 0];
    for (const t of TEMPLATES) {
      const words = t.replace('{c}', c).replace('.', ' .').split(' ');
      const ids = [tok.vocab['<|startoftext|>'], ...words.map(id), tok.vocab['<|endoftext|>']];
      const tokens = Object.fromEntries(Object.entries(tok.vocab).map(([k, v]) => [v, k]));
      const mean = [0, 1, 2].map((j) => ids.reduce((a, i) => a + tokenVector(tokens[i], i)[j], 0) / ids.length);
      unit(mean).forEach((x, j) => (sum[j] += x / TEMPLATES.length));
    }
    return unit(sum);
  });
}

async function dataset(): Promise<string> {
  const root = tempDir();
  for (const [c, colours] of Object.entries(IMAGES)) {
    mkdirSync(join(root, c));
    for (const [i, rgb] of colours.entries()) {
      await sharp(Buffer.from(Array.from({ length: 32 * 32 }, () => rgb).flat()), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(root, c, `${i}.png`));
    }
  }
  return root;
}

function run(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, REPROBE_HOME: home, HF_HUB_CACHE: tempDir(), HF_ENDPOINT: hub.endpoint } });
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const records = (dir: string) =>
  readdirSync(join(dir, 'records')).flatMap((f) =>
    readFileSync(join(dir, 'records', f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );

test('zero-shot on the CLIP-like pair: the prompt ensemble and the predictions are the ones worked out by hand', async () => {
  const data = await dataset();
  const templates = join(tempDir(), 'colours.txt');
  writeFileSync(templates, TEMPLATES.join('\n'));
  const results = tempDir();
  const r = await run(['zeroshot', '-b', 'clip-vit-b32', '-d', `folder:${data}`, '--templates', templates, '--results-dir', results], tempDir());
  assert.equal(r.code, 0, r.stderr);
  const W = classWeights();
  const truth: number[] = [];
  const pred: number[] = [];
  CLASSES.forEach((c, label) =>
    IMAGES[c].forEach((rgb) => {
      const x = unit(normalized(rgb));
      const cos = W.map((w) => w.reduce((a, v, j) => a + v * x[j], 0));
      truth.push(label);
      pred.push(cos.indexOf(Math.max(...cos)));
    }),
  );
  const acc = truth.filter((t, i) => t === pred[i]).length / truth.length;
  assert.ok(acc > 0.4 && acc < 1, `the fixture is not trivial: ${acc}`);
  const [rec] = records(results);
  assert.equal(rec.method, 'zeroshot');
  assert.equal(rec.n_train, 0);
  assert.equal(rec.n_test, 15);
  assert.ok(Math.abs((rec.top1 as number) - acc) < 1e-9, `top1 ${rec.top1} vs ${acc}`);
  assert.equal(rec.top5, 1);
  assert.ok(Math.abs((rec.acc1_adjusted as number) - (acc - 1 / 3)) < 1e-9);
  const recall = CLASSES.map((_, c) => truth.filter((t, i) => t === c && pred[i] === c).length / 5);
  assert.deepEqual((rec.per_class as { recall: number }[]).map((p) => p.recall), recall);
  assert.equal(rec.n_prompts, 6);
  assert.equal(rec.logit_scale, 100);
  assert.match(r.stdout, /zero-shot\s+[\d.]+\n/);
});

test('the k-shot curve: PRO starts at the zero-shot number, LITE has none at 0; a backbone without a text tower is one line', async () => {
  const data = await dataset();
  const templates = join(tempDir(), 'colours.txt');
  writeFileSync(templates, TEMPLATES.join('\n'));
  const results = tempDir();
  const home = tempDir();
  const r = await run(['zeroshot', '-b', 'clip-vit-b32', '-d', `folder:${data}`, '--templates', templates, '--shots', '0,2', '--val-per-class', '1', '--test-per-class', '2', '--pro-epochs', '20', '--results-dir', results], home);
  assert.equal(r.code, 0, r.stderr);
  const recs = records(results);
  const pro = recs.find((x) => x.method === 'pro')!;
  const lite = recs.find((x) => x.method === 'lr')!;
  assert.equal(pro.shots, 2);
  assert.equal(lite.shots, 2);
  assert.equal(pro.n_train, 6);
  // PRO's step 0 is zero-shot on its own test set (the class text embeddings and CLIP's scale, before any training):
  // worked out by hand for the images that split tested.
  const split = JSON.parse(readFileSync(String(pro.split_file), 'utf8')) as { tests: { test: string[] } };
  const W = classWeights();
  const hits = split.tests.test.map((id) => {
    const [c, file] = id.split('/');
    const x = unit(normalized(IMAGES[c][Number(file.replace('.png', ''))]));
    const cos = W.map((w) => w.reduce((a, v, j) => a + v * x[j], 0));
    return cos.indexOf(Math.max(...cos)) === CLASSES.indexOf(c);
  });
  assert.equal(pro.step0_accuracy, hits.filter(Boolean).length / hits.length);
  assert.match(r.stdout, /PRO\s+[\d.]+\s+[\d.]+\n/);
  assert.match(r.stdout, /LITE \(lr\)\s+-\s+[\d.]+\n/);
  const bad = await run(['zeroshot', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--results-dir', tempDir()], home);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^reprobe: mobilenet-v2 has no text tower/);
  assert.doesNotMatch(bad.stderr, /extract/);
  assert.equal(bad.stderr.trim().split('\n').filter((l) => l.startsWith('reprobe:')).length, 1);
});
