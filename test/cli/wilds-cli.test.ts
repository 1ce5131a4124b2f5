import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

test('probe on a WILDS dataset scores the ID and OOD test sets separately, with worst-region accuracy, and saves the split ids', async () => {
  const root = tempDir();
  const dir = join(root, 'fmow_v1.1');
  mkdirSync(join(dir, 'images'), { recursive: true });
  const classes = ['airport', 'dam', 'zoo'];
  const plan: [string, number][] = [['train', 2010], ['train', 2011], ['train', 2012], ['val', 2014], ['val', 2015], ['test', 2011], ['test', 2012], ['test', 2016], ['test', 2017]];
  const lines: string[] = [];
  for (const [c, cls] of classes.entries())
    for (const [j, [split, year]] of plan.entries()) {
      const i = lines.length;
      lines.push(`${split},${cls},${j % 2 ? 'USA' : 'FRA'},${year}-03-01T00:00:00Z`);
      const shade = 40 + c * 80 + j * 3;
      await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: shade, g: 255 - shade, b: 90 } } }).png().toFile(join(dir, 'images', `rgb_img_${i}.png`));
    }
  writeFileSync(join(dir, 'rgb_metadata.csv'), 'split,category,country_code,timestamp\n' + lines.join('\n') + '\n');
  writeFileSync(join(dir, 'country_code_mapping.csv'), 'alpha-3,region\nUSA,Americas\nFRA,Europe\n');
  const results = tempDir();
  const r = spawnSync(process.execPath, [bin, 'probe', '-b', 'mobilenet-v2', '-d', 'fmow', '--data-root', root, '--shots', '2', '--results-dir', results], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /split train\/val\/test 6\/3\/id_test 6 \+ ood_test 6/);
  assert.match(r.stdout, /model\s+knn_2_id_test\s+knn_2_ood_test\s+lr_2_id_test\s+lr_2_ood_test/);
  const recs = readFileSync(join(results, 'probe.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((x) => `${x.method}/${x.eval_split}`), ['knn/id_test', 'knn/ood_test', 'lr/id_test', 'lr/ood_test']);
  for (const x of recs) {
    assert.equal(x.group_field, 'region');
    assert.ok(x.worst_group_accuracy <= x.accuracy + 1e-12);
    assert.equal(x.n_test, 6);
  }
  const split = JSON.parse(readFileSync(recs[0].split_file, 'utf8'));
  assert.deepEqual(readdirSync(join(results, 'splits')), [`${recs[0].split_hash}.json`]);
  assert.equal(split.train.length, 6);
  assert.deepEqual(Object.keys(split.tests), ['id_test', 'ood_test']);
});
