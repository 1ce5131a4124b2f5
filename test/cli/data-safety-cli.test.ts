import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { tinyVit } from '../fixtures/onnx-fixtures.ts';
import { attentionBackbone } from '../fixtures/onnx-vit-attention.ts';
import { tinySweep } from '../fixtures/sweep-evidence.ts';
import { catsAndDogs, tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
/**
 * The REPROBE_HOME of the tests that run mobilenet-v2 on folders of their own: its converted ONNX file and its weights'
 * digest are made once for the file rather than once per test (features are keyed by the images, which differ).
 */
const home = tempDir();

function reprobe(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, HOME: tempDir(), ...env } });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

test('cache clear removes only the named keys; a form whose keys do not arrive (-- KEY, --keys KEY, none) removes nothing', () => {
  const home = tempDir();
  const dir = join(home, 'features');
  mkdirSync(dir);
  const keys = ['aaaa1111', 'bbbb2222', 'cccc3333'];
  for (const k of keys) for (const ext of ['npy', 'json']) writeFileSync(join(dir, `${k}.${ext}`), '{}');
  const left = () => [...new Set(readdirSync(dir).map((f) => f.split('.')[0]))].sort();
  for (const form of [['--', 'aaaa1111'], ['--keys', 'aaaa1111'], []]) {
    const r = reprobe(['cache', 'clear', ...form], { REPROBE_HOME: home });
    assert.equal(r.code, 2, `${form.join(' ')}: ${r.err}`);
    assert.match(r.err, /--all/);
    assert.deepEqual(left(), keys, form.join(' '));
  }
  assert.equal(reprobe(['cache', 'clear', 'aaaa'], { REPROBE_HOME: home }).code, 0);
  assert.deepEqual(left(), keys.slice(1));
  assert.equal(reprobe(['cache', 'clear', '--all'], { REPROBE_HOME: home }).code, 0);
  assert.deepEqual(left(), []);
});

const sweepExtra = { shots: [2], methods: { knn: {}, lr: { lrC: [1] } } };
let swept: { dir: string; home: string } | undefined;

/**
 * A tiny sweep of two jobs, run: its folder, environment, sweep file, records folder and the two job files. The sweep
 * runs once per file (about 3 CPU s); each caller gets its own copy of its folder and of its REPROBE_HOME (the
 * feature cache with it), its sweep file written again to name the copy's results folder.
 */
function sweptStore() {
  if (!swept) {
    const first = { dir: tempDir(), home: tempDir() };
    assert.equal(reprobe(['sweep', tinySweep(first.dir, sweepExtra)], { REPROBE_HOME: first.home }).code, 0);
    swept = first;
  }
  const dir = tempDir();
  const env = { REPROBE_HOME: tempDir() };
  cpSync(swept.dir, dir, { recursive: true });
  cpSync(swept.home, env.REPROBE_HOME, { recursive: true });
  const file = tinySweep(dir, sweepExtra);
  const records = join(dir, 'results', 'records');
  const [a, b] = readdirSync(records).sort();
  // The records name their split and predictions files by absolute path: the copy's, as a sweep run there writes them.
  for (const f of [a, b]) writeFileSync(join(records, f), readFileSync(join(records, f), 'utf8').replaceAll(swept.dir, dir));
  return { dir, env, file, records, a, b };
}

test('an empty or truncated record file is not a finished job: --status lists it, a rerun runs it again, merge names it and fails', () => {
  const { dir, env, file, records, a, b } = sweptStore();
  const whole = readFileSync(join(records, b), 'utf8');
  writeFileSync(join(records, a), '');
  writeFileSync(join(records, b), whole.slice(0, whole.length >> 1)); // cut mid-line, as a full disk leaves it
  const status = reprobe(['sweep', file, '--status'], env);
  assert.match(status.out, /2 jobs: 0 done, 2 invalid, 0 failed, 0 running, 0 pending/);
  assert.ok(status.out.includes(`${a.slice(0, -6)} `) && status.out.includes('empty file'), status.out);
  const merged = reprobe(['results', 'merge', join(dir, 'results')], env);
  assert.equal(merged.code, 2);
  assert.ok(merged.err.includes(join(records, a)) && merged.err.includes(join(records, b)), merged.err);
  const again = reprobe(['sweep', file], env);
  assert.match(again.out, /2 jobs: 2 run, 0 already in the store/);
  assert.equal(readFileSync(join(records, b), 'utf8').trim().split('\n').length, whole.trim().split('\n').length);
  const ok = reprobe(['results', 'merge', join(dir, 'results')], env);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^2 records from/);
});

test('a record file copied over another job\'s is not that job done, and a record written twice counts once', () => {
  const { dir, env, file, records, a, b } = sweptStore();
  const whole = readFileSync(join(records, a), 'utf8');
  writeFileSync(join(records, b), whole); // job a's record in job b's file
  const status = reprobe(['sweep', file, '--status'], env);
  assert.match(status.out, /2 jobs: 1 done, 1 invalid/, status.out);
  assert.ok(status.out.includes(`a record of job ${a.slice(0, -6)} in the file of job ${b.slice(0, -6)}`), status.out);
  const again = reprobe(['sweep', file], env);
  assert.match(again.out, /2 jobs: 1 run, 1 already in the store/);
  // The same line twice in one file, and a whole file copied under a name of its own: each record merges once.
  writeFileSync(join(records, a), whole + whole);
  writeFileSync(join(records, 'copy.jsonl'), readFileSync(join(records, b), 'utf8')); // a sweep job's record: its job_id names another file
  const { job_id: _, ...noJob } = JSON.parse(whole.split('\n')[0]) as Record<string, unknown>;
  writeFileSync(join(records, 'run.jsonl'), JSON.stringify(noJob) + '\n'); // as a command run's file holds it
  const out = join(dir, 'merged.jsonl');
  const merged = reprobe(['results', 'merge', join(dir, 'results'), '-o', out], env);
  assert.equal(merged.code, 2);
  assert.match(merged.err, /a second copy of line 1/);
  assert.match(merged.err, /copy\.jsonl:1: not a valid record \(a record of job/);
  assert.match(merged.err, /run\.jsonl:0: .*1 record\(s\) already in .*\.jsonl/);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { cell_id: string; eval_split: string; run_id: string });
  assert.equal(lines.length, 2);
  assert.equal(new Set(lines.map((l) => `${l.run_id} ${l.cell_id} ${l.eval_split}`)).size, 2);
});

test('no output goes into a dataset\'s folder: --results-dir or report --out there is refused before anything is written', async () => {
  const data = await catsAndDogs(join(tempDir(), 'ds'), 3);
  const env = { REPROBE_HOME: home };
  const args = ['probe', '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn'];
  const inside = reprobe([...args, '--results-dir', join(data, 'cat', 'results')], env);
  assert.equal(inside.code, 2, inside.err);
  assert.match(inside.err, /^reprobe: --results-dir .*ds\/cat\/results is inside .*ds, a dataset's folder: what is written there would be read as its images\. Pass a path outside it\.\n$/);
  assert.deepEqual(readdirSync(join(data, 'cat')).sort(), ['0.png', '1.png', '2.png']);
  const results = tempDir();
  assert.equal(reprobe([...args, '--results-dir', results], env).code, 0);
  const report = reprobe(['report', results, '--out', join(data, 'dog')], env);
  assert.equal(report.code, 2, report.err);
  assert.match(report.err, /--out .*ds\/dog is inside .*ds, a dataset's folder/);
  assert.deepEqual(readdirSync(join(data, 'dog')).sort(), ['0.png', '1.png', '2.png']);
});

test('a link to /dev/zero or a FIFO among the images is skipped as not a regular file, never read (it hung and grew to GBs)', async (t) => {
  const data = await catsAndDogs(join(tempDir(), 'ds'), 2);
  symlinkSync('/dev/zero', join(data, 'cat', 'zero.png'));
  if (spawnSync('mkfifo', [join(data, 'dog', 'fifo.png')]).status !== 0) t.diagnostic('mkfifo not available: the FIFO case is not tried');
  const r = spawnSync(process.execPath, [bin, 'extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`, '--no-cache', '-o', join(tempDir(), 'f')], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, REPROBE_HOME: home } });
  assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr}`);
  const out = r.stdout + r.stderr;
  assert.match(out, /cat\/zero\.png \(not a regular file/);
  if (existsSync(join(data, 'dog', 'fifo.png'))) assert.match(out, /dog\/fifo\.png \(not a regular file/);
});

test('results merge -o into any folder of the store (records, splits, predictions, runs), or an empty -o, is refused', () => {
  const { dir, env } = sweptStore();
  const results = join(dir, 'results');
  const split = join(results, 'splits', readdirSync(join(results, 'splits'))[0]);
  const before = readFileSync(split, 'utf8');
  const r = reprobe(['results', 'merge', results, '-o', split], env);
  assert.equal(r.code, 2);
  assert.match(r.err, /--out .* is inside .*splits, the store's splits folder/);
  assert.equal(readFileSync(split, 'utf8'), before);
  assert.match(reprobe(['results', 'merge', results, '-o', ''], env).err, /--out is empty/);
});

test('a store of junk merges to a failure naming its files, not "0 records" and exit 0', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'records'));
  writeFileSync(join(dir, 'records', 'junk.jsonl'), 'hello\n');
  writeFileSync(join(dir, 'records', 'obj.jsonl'), '{"value": 0.9}\n');
  const r = reprobe(['results', 'merge', dir]);
  assert.equal(r.code, 2);
  assert.match(r.err, /reprobe: 2 record files refused .*junk\.jsonl.*obj\.jsonl/);
});

test('an output onto an input or into the store is refused before anything is written: merge -o into records/, quantize --out onto the float model or its card', () => {
  // A store of one record, merged into its own records folder: the next merge would read it as a job's records.
  const results = tempDir();
  mkdirSync(join(results, 'records'));
  const line = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'store-v0', 'records', readdirSync(join(import.meta.dirname, '..', 'fixtures', 'store-v0', 'records'))[0]), 'utf8').split('\n')[0];
  writeFileSync(join(results, 'records', 'job.jsonl'), `${line}\n`);
  for (const out of [join(results, 'records', 'merged.jsonl'), join(results, 'records', 'job.jsonl'), join(results, 'records')]) {
    const r = reprobe(['results', 'merge', results, '-o', out]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^reprobe: --out .* is inside .*records, the store's records folder/);
    assert.deepEqual(readdirSync(join(results, 'records')), ['job.jsonl']);
  }
  const again = reprobe(['results', 'merge', results]);
  assert.match(again.out, /^1 records from/);
  const dir = tempDir();
  const model = join(dir, 'vit.onnx');
  const floatBytes = tinyVit({ size: 32, patch: 8, width: 16, dim: 24, layers: 2 });
  writeFileSync(model, floatBytes);
  const card = join(dir, 'vit.card.json');
  writeFileSync(card, JSON.stringify({ id: 'vit', input: { height: 32, width: 32 }, output: { name: 'last_hidden_state', pooling: 'cls' } }));
  const env = { REPROBE_HOME: tempDir(), HF_HUB_OFFLINE: '1' };
  for (const out of [model, join(dir, '.', 'vit.onnx'), join(dir, 'vit')]) {
    // vit → vit.card.json, the card it was read with.
    const q = reprobe(['models', 'quantize', model, '--card', card, '--out', out], env);
    assert.equal(q.code, 2, q.err);
    assert.match(q.err, /^reprobe: --out('s card)? .* is the input /);
  }
  assert.deepEqual(readFileSync(model), Buffer.from(floatBytes), 'the float model is untouched');
});

/** `<parent>/data`: 3 classes x 3 images of shades offset by `tint` (two tints: two different datasets of one layout). */
async function dataIn(parent: string, tint: number): Promise<void> {
  for (const [c, cls] of ['c0', 'c1', 'c2'].entries()) {
    mkdirSync(join(parent, 'data', cls), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const shade = 30 + c * 80 + i * 9 + tint;
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 255 - shade, b: tint } } }).png().toFile(join(parent, 'data', cls, `img${i}.png`));
    }
  }
}

/** A one-job knn sweep over a fresh two-class folder (in `parent`/data), run once: what the staleness tests change. */
async function knnSweepRun(): Promise<{ parent: string; env: Record<string, string>; results: string; sweep: string }> {
  const parent = tempDir();
  await dataIn(parent, 0);
  const env = { REPROBE_HOME: home };
  const results = join(tempDir(), 'results');
  const sweep = join(tempDir(), 'sweep.yaml');
  writeFileSync(sweep, stringify({ backbones: ['mobilenet-v2'], datasets: [`folder:${join(parent, 'data')}`], shots: [1], valPerClass: 1, methods: { knn: {} }, extract: 'split', resultsDir: results }));
  assert.match(reprobe(['sweep', sweep], env).out, /1 jobs: 1 run/);
  return { parent, env, results, sweep };
}

test('folder:data typed in two working folders is two datasets: two cell ids, two report columns, and a sweep runs both', async () => {
  const [a, b] = [tempDir(), tempDir()];
  await dataIn(a, 0);
  await dataIn(b, 40);
  const results = tempDir();
  const env = { REPROBE_HOME: home };
  for (const cwd of [a, b]) {
    const r = reprobe(['probe', '-b', 'mobilenet-v2', '-d', 'folder:data', '--shots', '1', '--val-per-class', '1', '--probe', 'knn', '--results-dir', results], env, cwd);
    assert.equal(r.code, 0, r.err);
  }
  const records = readdirSync(join(results, 'records')).flatMap((f) => readFileSync(join(results, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>));
  assert.deepEqual(records.map((r) => r.dataset).sort(), [`folder:${join(realpathSync(a), 'data')}`, `folder:${join(realpathSync(b), 'data')}`].sort());
  assert.equal(new Set(records.map((r) => r.cell_id)).size, 2);
  assert.equal(new Set(records.map((r) => r.dataset_digest)).size, 2);
  const report = reprobe(['report', results, '--format', 'md'], env);
  assert.equal(report.code, 0, report.err);
  const md = readFileSync(join(results, 'report', 'report.md'), 'utf8');
  assert.ok(md.includes(join(realpathSync(a), 'data')) && md.includes(join(realpathSync(b), 'data')), md);
  // The same sweep file run from each folder: the second is not "already in the store".
  const sweep = join(tempDir(), 'sweep.yaml');
  writeFileSync(sweep, stringify({ backbones: ['mobilenet-v2'], datasets: ['folder:data'], shots: [1], valPerClass: 1, methods: { knn: {} }, extract: 'split', resultsDir: join(tempDir(), 'sweep-results') }));
  for (const cwd of [a, b]) assert.match(reprobe(['sweep', sweep], env, cwd).out, /1 jobs: 1 run, 0 already in the store/, cwd);
});

test('report groups records written under an alias (dino) with those under the id (dino-vits16): one row, n = 2', () => {
  const fixture = join(import.meta.dirname, '..', 'fixtures', 'store-v0');
  const dir = tempDir();
  cpSync(fixture, dir, { recursive: true });
  let knn = 0;
  for (const f of readdirSync(join(dir, 'records'))) {
    const lines = readFileSync(join(dir, 'records', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Every record becomes DINO's, the knn seeds split between the alias and the id.
    const renamed = lines.map((r) => ({ ...r, backbone: r.method === 'knn' && knn++ % 2 === 0 ? 'dino' : 'dino-vits16' }));
    writeFileSync(join(dir, 'records', f), renamed.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  assert.equal(knn, 2);
  const r = reprobe(['report', dir, '--format', 'md']);
  assert.equal(r.code, 0, r.err);
  const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
  assert.doesNotMatch(md, /\bdino\b(?!-)/);
  assert.doesNotMatch(md, /\(n=1\)/);
  assert.match(md, /\(n=2\)/);
});

test('a dataset whose content changed reruns its sweep job, and the report names records of the older content it leaves out', async () => {
  const { parent, env, results, sweep } = await knnSweepRun();
  // One image replaced by another: the job's id (its configuration) is the same, its records are of the old content.
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 3, g: 200, b: 90 } } }).png().toFile(join(parent, 'data', 'c0', 'img0.png'));
  const status = reprobe(['sweep', sweep, '--status'], env);
  assert.match(status.out, /1 jobs: 0 done, 1 stale/, status.out);
  assert.match(status.out, /changed since its records/);
  assert.match(reprobe(['sweep', sweep], env).out, /1 jobs: 1 run, 0 already in the store/);
  // A probe run of the older content beside the sweep's record of the new one: one row, and a note on what is left out.
  const older = tempDir();
  await dataIn(older, 0);
  cpSync(join(older, 'data', 'c0', 'img0.png'), join(parent, 'data', 'c0', 'img0.png'));
  assert.equal(reprobe(['probe', '-b', 'mobilenet-v2', '-d', `folder:${join(parent, 'data')}`, '--shots', '1', '--val-per-class', '1', '--probe', 'knn', '--results-dir', results], env).code, 0);
  const digests = readdirSync(join(results, 'records')).flatMap((f) => readFileSync(join(results, 'records', f), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string>).dataset_digest));
  assert.equal(new Set(digests).size, 2);
  const report = reprobe(['report', results, '--format', 'md'], env);
  assert.equal(report.code, 0, report.err);
  const md = readFileSync(join(results, 'report', 'report.md'), 'utf8');
  assert.match(md, /mobilenet-v2 knn_1 on folder:.* \(test\): shows its newest configuration; 1 record\(s\) of an older content of the dataset \(digest [0-9a-f]{16}; shown: [0-9a-f]{16}\) left out/, md);
});

test('report names a cell run in two configurations (--knn-k 1, then --knn-k 3): the newest shown, the other left out in a note', async () => {
  const parent = tempDir();
  await dataIn(parent, 0);
  const env = { REPROBE_HOME: home };
  const results = tempDir();
  for (const k of ['1', '3']) {
    const r = reprobe(['probe', '-b', 'mobilenet-v2', '-d', `folder:${join(parent, 'data')}`, '--shots', '2', '--val-per-class', '0', '--probe', 'knn', '--knn-k', k, '--results-dir', results], env);
    assert.equal(r.code, 0, r.err);
  }
  const report = reprobe(['report', results, '--format', 'md'], env);
  assert.equal(report.code, 0, report.err);
  const md = readFileSync(join(results, 'report', 'report.md'), 'utf8');
  assert.match(md, /mobilenet-v2 knn_2 on folder:.* \(test\): shows its newest configuration; 1 record\(s\) of 1 other configuration\(s\) \(config_id \w+; shown: \w+\), differing in chosen .*"k":1.*\(shown: .*"k":3/, md);
  assert.match(report.err + report.out, /left out/);
});

test('datasets info shows copies across classes and within one; probe warns when its split puts a copy in train and one in test', async () => {
  const root = tempDir();
  await catsAndDogs(root, 2);
  const dog0 = readFileSync(join(root, 'dog', '0.png'));
  // dog/0 saved again in dog (other bytes, same pixels), and cat/1 saved again under dog.
  await sharp(dog0).png({ compressionLevel: 0 }).toFile(join(root, 'dog', '0-again.png'));
  await sharp(readFileSync(join(root, 'cat', '1.png'))).png({ compressionLevel: 2 }).toFile(join(root, 'dog', 'cat-again.png'));
  const env = { REPROBE_HOME: home };
  const info = reprobe(['datasets', 'info', `folder:${root}`], env);
  assert.equal(info.code, 0, info.err);
  assert.match(info.out, /warning: 1 image\(s\) show the same pixels as an image of another class, e\.g\. cat\/1\.png = dog\/cat-again\.png/);
  assert.match(info.out, /warning: 1 image\(s\) show the same pixels as another of their class, e\.g\. dog\/0-again\.png = dog\/0\.png: a split may put one in train/);
  // With every image of the dataset drawn (all in train or test), the copies within dog land on both sides for some seed.
  const leaked = ['0', '1', '2', '3'].map((seed) => reprobe(['probe', '-b', 'mobilenet-v2', '-d', `folder:${root}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--seed', seed, '--results-dir', tempDir()], env));
  for (const r of leaked) assert.equal(r.code, 0, r.err);
  assert.ok(leaked.some((r) => /test image\(s\) show the same pixels as a train or val image, e\.g\. dog\/0(-again)?\.png = dog\/0(-again)?\.png/.test(r.err)), leaked.map((r) => r.err).join('\n'));
});

test('explain --out is refused inside every folder it reads images from: the dataset --from names (no -d), the --image files\' folders', async () => {
  const dir = tempDir();
  attentionBackbone(dir, { size: 16, patch: 4, width: 8, heads: 2, layers: 3, seed: 9 });
  const data = await catsAndDogs(join(tempDir(), 'ds'), 4);
  const results = tempDir();
  const env = { REPROBE_HOME: tempDir(), HF_HUB_OFFLINE: '1' };
  const b = ['-b', join(dir, 'model.onnx'), '--card', join(dir, 'card.json')];
  const probe = reprobe(['probe', ...b, '-d', `folder:${data}`, '--shots', '1', '--val-per-class', '0', '--probe', 'knn', '--top-pairs', '1', '--results-dir', results], env);
  assert.equal(probe.code, 0, probe.err);
  assert.match(probe.out, /most confused pairs/, 'the record lists a pair, so --from picks images');
  const explain = (args: string[], cwd?: string) => reprobe(['explain', ...b, '--method', 'rollout', ...args], env, cwd);
  const fromRecords = explain(['--from', results, '--n', '2', '--out', join(data, 'cat', 'x')]);
  assert.equal(fromRecords.code, 2, fromRecords.err);
  assert.match(fromRecords.err, /^reprobe: --out .*ds\/cat\/x is inside .*ds, a dataset's folder: what is written there would be read as its images\. Pass a path outside it\.\n$/);
  const fromImage = explain(['--image', join(data, 'dog', '1.png'), join(data, 'cat', '0.png'), '--out', join(data, 'cat', 'x')]);
  assert.equal(fromImage.code, 2, fromImage.err);
  assert.match(fromImage.err, /^reprobe: --out .*ds\/cat\/x is inside .*ds\/cat, the folder of an --image/);
  assert.deepEqual([readdirSync(data).sort(), readdirSync(join(data, 'cat')).sort()], [['cat', 'dog'], ['0.png', '1.png', '2.png', '3.png']]);
  // An image in the working folder is no dataset's: the default-like results/explain below it is written.
  const beside = explain(['--image', '0.png', '--out', join('results', 'explain')], join(data, 'dog'));
  assert.equal(beside.code, 0, beside.err);
  assert.ok(existsSync(join(data, 'dog', 'results', 'explain', 'index.html')));
});

test('a sweep job whose records were made with other weights or another card preprocessing is stale: --status names why, the next run reruns it', async () => {
  const { parent, env, results, sweep } = await knnSweepRun();
  assert.match(reprobe(['sweep', sweep, '--status'], env).out, /1 jobs: 1 done/, 'the weights and card as they are: done, not stale');
  const [file] = readdirSync(join(results, 'records')).map((f) => join(results, 'records', f));
  const made = readFileSync(file, 'utf8');
  // The records as another model file (another sha256) or another card (another mean) would have made them.
  const edit = (change: (r: Record<string, unknown>) => void) =>
    writeFileSync(file, made.trim().split('\n').map((l) => { const r = JSON.parse(l) as Record<string, unknown>; change(r); return JSON.stringify(r); }).join('\n') + '\n');
  const weights = (JSON.parse(made.split('\n')[0]) as { weights_sha256: string }).weights_sha256;
  assert.match(weights, /^[0-9a-f]{64}$/);
  edit((r) => (r.weights_sha256 = 'f'.repeat(64)));
  const status = reprobe(['sweep', sweep, '--status'], env);
  assert.match(status.out, /1 jobs: 0 done, 1 stale/, status.out);
  assert.match(status.out, new RegExp(`stale \\S+ .*: mobilenet-v2's weights changed since its records \\(sha256 ffffffffffffffff, now ${weights.slice(0, 16)}\\); the next run runs it again`));
  edit((r) => ((r.preprocess as { mean: number[] }).mean = [0.5, 0.5, 0.5]));
  const card = reprobe(['sweep', sweep, '--status'], env);
  assert.match(card.out, /mobilenet-v2's card changed its preprocessing since its records/, card.out);
  assert.match(reprobe(['sweep', sweep], env).out, /1 jobs: 1 run, 0 already in the store/);
  assert.match(reprobe(['sweep', sweep, '--status'], env).out, /1 jobs: 1 done/);
});
