import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';
import { attentionBackbone } from '../fixtures/onnx-vit-attention.ts';
import { catsAndDogs, tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const home = tempDir();

function reprobe(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home, HF_HUB_OFFLINE: '1' } });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** Exit 2, one `reprobe:` line (the last), equal to `line` or matching it, no internal error or native log. */
function oneLine(r: { code: number | null; err: string }, line: string | RegExp) {
  assert.equal(r.code, 2, r.err);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('reprobe:')).length, 1, r.err);
  if (typeof line === 'string') assert.equal(lines.at(-1), `reprobe: ${line}`);
  else assert.match(lines.at(-1)!, line);
  assert.doesNotMatch(r.err, /internal error|onnxruntime::|\.cc:\d+/);
}

test('explain on a file that is not an image, an empty file, or --class out of range: one line naming the file or the flag', async () => {
  const dir = tempDir();
  const [text, empty, image] = ['notes.png', 'empty.png', 'ok.png'].map((f) => join(dir, f));
  writeFileSync(text, 'not an image');
  writeFileSync(empty, '');
  await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 20, g: 90, b: 200 } } }).png().toFile(image);
  // --out outside the images' folder: inside it is refused (it may be a dataset's class folder).
  const explain = (img: string, cls: string) => reprobe(['explain', '-b', 'mobilenet-v2', '--image', img, '--class', cls, '--out', join(tempDir(), 'out')]);
  oneLine(explain(text, '1'), `${text}: cannot be read as an image (Input buffer contains unsupported image format); give PNG, JPEG or WebP files.`);
  oneLine(explain(empty, '1'), /^reprobe: .*empty\.png: cannot be read as an image \(.*\); give PNG, JPEG or WebP files\.$/);
  oneLine(explain(image, '999'), /^reprobe: --class: class 999 is not one of the model's \d+ classes; give 0 to \d+\.$/);
});

test("models quantize on a non-ONNX or truncated file, to a folder, or with a card naming a missing output: probe's lines", () => {
  const dir = tempDir();
  const model = tinyVit({ size: 32, patch: 8, width: 16, dim: 24, layers: 2 });
  const files = { 'vit.onnx': model, 'cut.onnx': model.subarray(0, model.length >> 1), 'text.onnx': new TextEncoder().encode('not onnx'), 'x.onnx': new TextEncoder().encode('x\n') };
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
  const card = (output: string) => {
    const p = join(dir, `card-${output}.json`);
    writeFileSync(p, JSON.stringify({ id: 'vit', input: { height: 32, width: 32 }, output: { name: output, pooling: 'cls' } }));
    return p;
  };
  const q = (m: string, c: string, out: string) => reprobe(['models', 'quantize', join(dir, m), '--card', c, '--out', out]);
  const good = card('last_hidden_state');
  // x.onnx parses as a ModelProto without a graph: onnxruntime's message carries its source file and C++ signature, left out.
  for (const m of ['cut.onnx', 'text.onnx', 'x.onnx']) oneLine(q(m, good, join(dir, 'q.onnx')), new RegExp(`^reprobe: onnxruntime cannot load ".*${m}": .*\\(truncated, corrupt or not an ONNX file\\?\\)$`));
  mkdirSync(join(dir, 'folder'));
  oneLine(q('vit.onnx', good, join(dir, 'folder')), `--out: ${join(dir, 'folder')} is a folder; give the .onnx file to write (its card goes next to it).`);
  oneLine(q('vit.onnx', card('nope'), join(dir, 'q.onnx')), /^reprobe: .*vit\.onnx has no output "nope"; its outputs: last_hidden_state .* Fix output\.name in the card\.$/);
  assert.equal(existsSync(join(dir, 'q.onnx')), false, 'nothing written');
});

test('report on a dataset deep in folders: csv names shortened with a hash, report.html written', async () => {
  const data = join(tempDir(), 'd'.repeat(120), 'e'.repeat(120));
  for (const c of ['a', 'b'])
    for (let i = 0; i < 2; i++) {
      mkdirSync(join(data, c), { recursive: true });
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: c === 'a' ? 10 : 240, g: 40 * i, b: 90 } } }).png().toFile(join(data, c, `${i}.png`));
    }
  const results = tempDir();
  assert.equal(reprobe(['probe', '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--results-dir', results]).code, 0);
  const r = reprobe(['report', results]);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(join(results, 'report', 'report.html')));
  const csvs = readdirSync(join(results, 'report', 'csv'));
  assert.ok(csvs.length > 0 && csvs.every((f) => f.length <= 104 && /-[0-9a-f]{16}\.csv$/.test(f)), csvs.join(' '));
});

test('flags: -k with --shots is one flag given twice; --seeds is checked as the flag; a NUL in a YAML value is printed escaped', () => {
  oneLine(reprobe(['probe', '-k', '3', '--shots', '5']), '--shots is given more than once (as -k and --shots); give it once.');
  oneLine(reprobe(['sweep', join(import.meta.dirname, '..', '..', 'configs', 'quick.yaml'), '--seeds', '1,-1', '--dry-run']), '--seeds: "-1" is not a seed; give integers 0 to 4294967295, comma-separated.');
  const file = join(tempDir(), 'nul.yaml');
  writeFileSync(file, 'backbones: ["mobile\\0net"]\ndatasets: [mnist]\nshots: [2]\nmethods: {knn: {}}\n');
  const r = reprobe(['sweep', file, '--dry-run']);
  oneLine(r, /^reprobe: .*nul\.yaml: backbones\[0\]: Unknown backbone "mobile\\0net"\./);
  assert.ok(!r.err.includes('\0'), 'no raw NUL on the terminal');
  // A dry run echoes the grid: the same escaping in its table.
  writeFileSync(file, 'backbones: [mobilenet-v2]\ndatasets: ["folder:/x\\0y"]\nshots: [2]\nmethods: {knn: {}}\n');
  const dry = reprobe(['sweep', file, '--dry-run']);
  assert.equal(dry.code, 0, dry.err);
  assert.ok(!dry.out.includes('\0') && dry.out.includes('folder:/x\\0y'), dry.out);
});

test('a running sweep and datasets info print echoed names escaped; an empty folder: path, and compare on folders, are one line naming what to give', async () => {
  // A running sweep echoes each job (and its failure) as the dry run does: no raw NUL.
  const file = join(tempDir(), 'nul-run.yaml');
  writeFileSync(file, `backbones: [mobilenet-v2]\ndatasets: ["folder:${tempDir()}/x\\0y"]\nshots: [1]\nmethods: {knn: {}}\nresultsDir: ${tempDir()}\n`);
  const run = reprobe(['sweep', file]);
  assert.ok(!run.err.includes('\0') && !run.out.includes('\0') && run.err.includes('x\\0y'), run.err);
  // A class folder named with an escape sequence: datasets info shows it escaped.
  const data = join(tempDir(), 'esc');
  for (const c of ['\x1b[31mred', 'blue']) {
    mkdirSync(join(data, c), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(join(data, c, '0.png'));
  }
  const info = reprobe(['datasets', 'info', `folder:${data}`]);
  assert.ok(!info.out.includes('\x1b') && info.out.includes('\\u001b[31mred'), info.out);
  oneLine(reprobe(['probe', '-d', 'folder:', '-k', '2']), 'Dataset "folder" needs folder:<path>, e.g. --dataset folder:./my-images.');
  const dir = tempDir();
  oneLine(reprobe(['compare', dir, dir, '--results-dir', dir]), `${dir} is a folder: compare takes two predictions files (id,true,pred), or two cell ids of a results folder given with --results DIR.`);
});

test('--bootstrap below 100 resamples is refused: one resample gave a "95 %" interval of one point, not containing the value', () => {
  oneLine(reprobe(['probe', '-d', 'mnist', '--shots', '1', '--bootstrap', '1']), 'Invalid --bootstrap: at least 100 resamples for a 95 % interval (0: none).');
});

test('probe and extract print image ids and the dataset path escaped: an escape sequence in a file or folder name never reaches the terminal', async () => {
  const data = await catsAndDogs(join(tempDir(), 'd\x1b[2J'), 2);
  writeFileSync(join(data, 'dog', 'bad\x1b]0;PWNED\x07.png'), 'not an image');
  const probe = reprobe(['probe', '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--results-dir', tempDir()]);
  assert.equal(probe.code, 0, probe.err);
  const extract = reprobe(['extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--no-cache', '-o', join(tempDir(), 'f')]);
  assert.equal(extract.code, 0, extract.err);
  for (const text of [probe.out, probe.err, extract.out, extract.err]) assert.ok(!text.includes('\x1b') && !text.includes('\x07'), JSON.stringify(text));
  assert.ok((probe.err + extract.out).includes('bad\\u001b]0;PWNED\\u0007.png'), probe.err + extract.out);
});

test('report --out "", extract -o inside the dataset, a value starting with "-" (--lr-c -1,0, --shard -1/2): one line naming the flag, nothing written', async () => {
  const data = await catsAndDogs(tempDir(), 2);
  const results = tempDir();
  assert.equal(reprobe(['probe', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--results-dir', results]).code, 0);
  const cwd = tempDir();
  const empty = spawnSync(process.execPath, [bin, 'report', results, '--out', ''], { encoding: 'utf8', cwd, env: { ...process.env, REPROBE_HOME: home } });
  oneLine({ code: empty.status, err: empty.stderr }, '--out is empty: name a path (or leave out --out for the default).');
  assert.deepEqual(readdirSync(cwd), [], 'nothing written in the working folder');
  const file = join(tempDir(), 'merged.jsonl');
  writeFileSync(file, '');
  oneLine(reprobe(['report', file]), `${file} is a file: name the results folder (the one holding records/), e.g. \`reprobe report results\`.`);
  oneLine(reprobe(['extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '-o', join(data, 'cat', 'feats')]), `-o ${join(data, 'cat', 'feats')} is inside ${data}, a dataset's folder: what is written there would be read as its images. Pass a path outside it.`);
  assert.deepEqual(readdirSync(join(data, 'cat')).sort(), ['0.png', '1.png']);
  oneLine(reprobe(['probe', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--probe', 'lr', '--lr-c', '-1,0']), '--lr-c -1,0: a value starting with "-" is read as a flag; write --lr-c=-1,0.');
  oneLine(reprobe(['sweep', join(import.meta.dirname, '..', '..', 'configs', 'quick.yaml'), '--shard', '-1/2', '--dry-run']), '--shard -1/2: a value starting with "-" is read as a flag; write --shard=-1/2.');
  oneLine(reprobe(['sweep', join(import.meta.dirname, '..', '..', 'configs', 'quick.yaml'), '--shard=-1/2', '--dry-run']), /^reprobe: Invalid --shard "-1\/2": give i\/n/);
  // A misspelt key is named before the key it leaves missing; a card or config file that is not there says what to check.
  const misspelt = join(tempDir(), 'typo.yaml');
  writeFileSync(misspelt, 'backbonez: [mobilenet-v2]\n');
  oneLine(reprobe(['sweep', misspelt]), `${misspelt}: (top level): unknown key "backbonez"`);
  // A key that takes one of two forms said "Invalid input", also when it was missing.
  writeFileSync(misspelt, 'backbones: [mobilenet-v2]\ndatasets: [mnist]\nmethods: {knn: {}}\n');
  oneLine(reprobe(['sweep', misspelt]), `${misspelt}: shots: give the shot levels, whole numbers >= 1 (shots: [1, 10]), or a list per dataset (shots: {mnist: [1, 10]})`);
  oneLine(reprobe(['explain', '-b', 'mobilenet-v2', '--text', '-1 cat']), '--text -1 cat: a value starting with "-" is read as a flag; write --text="-1 cat".');
  oneLine(reprobe(['sweep', join(cwd, 'none.yaml')]), `Cannot read config file "${join(cwd, 'none.yaml')}" (ENOENT: no such file or folder). Check the path. Or name a YAML file (configs/ holds examples).`);
});

test('explain takes --card for a model file (it asked for --card but had no such flag), and relevance --class out of range is one line naming --class', async () => {
  const dir = tempDir();
  attentionBackbone(dir, { size: 16, patch: 4, width: 8, heads: 2, layers: 3, seed: 9 });
  const image = join(dir, 'x.png');
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 20, g: 90, b: 200 } } }).png().toFile(image);
  const out = join(tempDir(), 'out');
  const explain = (cls: string) => reprobe(['explain', '-b', join(dir, 'model.onnx'), '--card', join(dir, 'card.json'), '--method', 'relevance', '--class', cls, '--image', image, '--out', out]);
  oneLine(explain('99'), "--class: class 99 is not one of the output's 8 features; give 0 to 7.");
  const ok = explain('3');
  assert.equal(ok.code, 0, ok.err);
  assert.ok(existsSync(join(out, 'index.html')));
});
