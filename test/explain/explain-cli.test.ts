import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { BAR_WIDTH } from '../../src/explain/overlay.ts';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const env = { ...process.env, REPROBE_HOME: tempDir() };

function reprobe(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Debian's `chromium` on PATH; undefined without it. */
const chromium = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'chromium')).find((p) => existsSync(p));

let page: string | undefined;

/** A 28x28 PNG: a white bar on black, roughly a "1". */
async function digitPng(): Promise<string> {
  const image = join(tempDir(), 'digit.png');
  await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite([{ input: { create: { width: 4, height: 20, channels: 3, background: { r: 255, g: 255, b: 255 } } }, left: 12, top: 4 }])
    .png()
    .toFile(image);
  return image;
}

test('reprobe explain --run <a finetune run> --image <png> --method gradcam: an overlay per class and one self-contained page', async () => {
  const results = tempDir();
  const ft = reprobe('finetune', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '3', '--test-per-class', '2', '--train', 'last:1', '--max-epochs', '5', '--results-dir', results);
  assert.equal(ft.code, 0, ft.err);
  const rec = JSON.parse(readFileSync(join(results, 'finetune.jsonl'), 'utf8').split('\n')[0]) as { curve: string };
  const run = dirname(rec.curve);
  const image = await digitPng();
  const out = join(tempDir(), 'explain');
  const r = reprobe('explain', '--run', run, '--image', image, '--method', 'gradcam', '--class', '1', '7', '--out', out);
  assert.equal(r.code, 0, r.err);
  const pngs = readdirSync(out).filter((f) => f.endsWith('.png')).sort();
  assert.deepEqual(pngs, ['digit__mobilenet-v2__1__gradcam.png', 'digit__mobilenet-v2__7__gradcam.png']);
  for (const f of pngs) {
    const m = await sharp(join(out, f)).metadata();
    assert.deepEqual([m.width, m.height], [224 + BAR_WIDTH, 224], 'the image as MobileNetV2 saw it (224x224), plus the bar');
  }
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 3, 'the input and two overlays, inlined');
  assert.doesNotMatch(html, /(src|href)="(?!data:|#)/, 'nothing outside the page');
  assert.match(html, /<th scope="col">1<\/th><th scope="col">7<\/th>/);
  assert.match(html, /<figcaption>1 \(p \d\.\d\d\)<\/figcaption>/);
  page = join(out, 'index.html');

  // Without --class: the predicted class; a class the run lacks and a method the backbone lacks are one line each.
  const again = tempDir();
  const predicted = reprobe('explain', '--run', run, '--image', image, '--out', again);
  assert.equal(predicted.code, 0, predicted.err);
  assert.ok(existsSync(join(again, 'digit__mobilenet-v2__predicted-class__gradcam.png')));
  const badClass = reprobe('explain', '--run', run, '--image', image, '--class', 'cat', '--out', out);
  assert.equal(badClass.code, 2);
  assert.match(badClass.err, /^reprobe: Unknown class "cat"\. Known: 0, 1, 2, .*9\. These are the classes the run was fine-tuned on\.\n$/);
});

test('one-line refusals: a method the backbone lacks, Grad-CAM without a trained head, a folder that is no run', async () => {
  const img = await digitPng();
  const cases: [string[], RegExp][] = [
    [['-b', 'mobilenet-v2', '--image', img, '--method', 'rollout'], /^reprobe: rollout cannot explain mobilenet-v2: it serves ViT-family ONNX cards .*\. mobilenet-v2 supports gradcam\.\n$/],
    [['-b', 'mobilenet-v2', '--image', img], /^reprobe: gradcam explains a class of a trained head: pass --run results\/runs\/<id> .* or --class N of the model's own classifier; .*\n$/],
    [['--run', tempDir(), '--image', img], /^reprobe: No finetune record in .* names the run .*\n$/],
    [['-b', 'mobilenet-v2', '--class', '2'], /^reprobe: Give the images to explain: --image PATH…, or --dataset D --n 16\.\n$/],
  ];
  for (const [args, want] of cases) {
    const r = reprobe('explain', ...args, '--out', tempDir());
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
  }
});

test('the page opens in headless Chromium without console errors', { skip: chromium ? false : 'chromium is not on PATH (apt-get install -y chromium)' }, () => {
  assert.ok(page, 'the end-to-end test wrote a page');
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--enable-logging=stderr', '--v=0', `--user-data-dir=${tempDir('reprobe-chromium-')}`, '--dump-dom', pathToFileURL(page).href], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stderr.split('\n').filter((l) => /Uncaught|ERROR:CONSOLE|CONSOLE.*index\.html/.test(l)), []);
  assert.equal((r.stdout.match(/<img /g) ?? []).length, 3);
  assert.match(r.stdout, /<h1>Where the backbones look<\/h1>/);
});
