/**
 * Fine-tuning's learning rate is `learningRate` (`--learning-rate`) since issue 28 (`lr` is the logistic-regression
 * method): the old key and flag are read with a warning for one release, and every hash keeps the old key, so cell ids,
 * sweep job ids and run folders are what they were. Expected ids were computed on main before the rename (d59777e).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../src/errors.ts';
import { cellIdentity } from '../../src/jobs/cell-identity.ts';
import { getMethod } from '../../src/jobs/methods.ts';
import { checkSweep } from '../../src/jobs/sweep-schema.ts';
import { withOldNames } from '../../src/util/options.ts';
import { tempDir } from '../helpers.ts';

const root = join(import.meta.dirname, '..', '..');
/** configs/quick.yaml's fine-tuning job ids on main (d59777e), where its options said `lr: 0.01`. */
const QUICK_FINETUNE_IDS = ['7e829fad87a73e49', '2e638861f8a665aa', 'b695a901a7d39526', 'a52bfcabb30360e3', '5f576e403bd9c48e', '3e487783e5bfcfbd', '904ed2a7fc32ebcb', '1dd2e5205c940b58'];

test('a fine-tuning cell hashes its learning rate under the old key: the cell id computed before the rename', () => {
  const ft = getMethod('finetune');
  const options = z.object(ft.options).parse({ train: 'head', learningRate: 0.01, patience: 30, maxEpochs: 300 });
  const ids = cellIdentity({ dataset: 'mnist', datasetDigest: '0123456789abcdef', splitHash: 'fedcba9876543210', split: { protocol: 'shots', shots: 5, valPerClass: 3, testPerClass: 50, seed: 0 }, model: 'embedded:mobilenet-v2', layer: 'tap', runtime: 'onnxruntime', method: 'finetune', options: withOldNames(options, ft.flags), evalSplit: 'test', batchSize: 16 });
  // On main: cellIdentity of the same cell with z.object(finetune.options).parse({ train: 'head', lr: 0.01, patience: 30, maxEpochs: 300 }).
  assert.deepEqual(ids, { cell_id: 'cd2f778ee242a8b3', config_id: 'a35ec95e4b80c47f' });
});

test('sweep files: the new key keeps the job ids; the old key is read with a warning; both is refused', () => {
  const quick = parse(readFileSync(join(root, 'configs', 'quick.yaml'), 'utf8')) as { methods: Record<string, Record<string, unknown>> };
  assert.equal(quick.methods.finetune.learningRate, 0.01, 'configs/quick.yaml uses the new key');
  const now = checkSweep(quick, 'quick.yaml');
  assert.deepEqual(now.jobs.filter((j) => j.method === 'finetune').map((j) => j.id), QUICK_FINETUNE_IDS);
  assert.deepEqual(now.warnings, []);
  const { learningRate, ...rest } = quick.methods.finetune;
  const old = checkSweep({ ...quick, methods: { ...quick.methods, finetune: { ...rest, lr: learningRate } } }, 'old.yaml');
  assert.deepEqual(old.jobs.map((j) => j.id), now.jobs.map((j) => j.id));
  assert.deepEqual(old.jobs.find((j) => j.method === 'finetune')?.options.learningRate, 0.01);
  assert.deepEqual(old.warnings, ['old.yaml: methods.finetune: "lr" is now "learningRate"; the old name is read until the next release.']);
  assert.throws(() => checkSweep({ ...quick, methods: { ...quick.methods, finetune: { ...quick.methods.finetune, lr: 0.1 } } }, 'both.yaml'), (e: unknown) => e instanceof ConfigError && /^both\.yaml: methods\.finetune: "lr" and "learningRate" are one option/.test(e.message));
});

test('the command line: --lr is read as --learning-rate with a warning, and not shown in --help', () => {
  const bin = join(root, 'bin', 'reprobe.mjs');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'finetune', ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  // A value the schema refuses stops at parsing, before any image is read: the message names the new flag.
  const old = run('-b', 'mobilenet-v2', '-d', 'mnist', '--lr', '20');
  assert.equal(old.status, 2, old.stderr);
  assert.equal(old.stderr, 'reprobe: warning: --lr is now --learning-rate; the old flag is read until the next release.\nreprobe: Invalid --learning-rate: Too big: expected number to be <=10.\n');
  const both = run('-b', 'mobilenet-v2', '-d', 'mnist', '--lr', '1e-3', '--learning-rate', '1e-3');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--lr and --learning-rate are one option/);
  const help = run('--help').stdout;
  assert.match(help, /--learning-rate/);
  assert.doesNotMatch(help, /^\s+--lr\s/m, 'no option line of its own');
});
