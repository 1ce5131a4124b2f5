import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { z } from 'zod';
import sharp from 'sharp';
import { getMethod } from '../../src/jobs/methods.ts';
import type { ImageCell, Method } from '../../src/method/contract.ts';
import { runCells, type CellJob } from '../../src/jobs/run-cells.ts';
import { tempDir } from '../helpers.ts';

async function png(path: string, shade: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: shade, g: 255 - shade, b: 80 } } }).png().toFile(path);
}

const job = (over: Partial<CellJob>): CellJob => ({
  backbones: ['mobilenet-v2'],
  dataset: 'mnist',
  split: { protocol: 'shots', shots: 2, valPerClass: 1, seed: 0 },
  methods: [getMethod('knn')],
  options: { knnK: [1], knnVote: 'weighted' },
  open: { runtime: 'auto', threads: 1 },
  batchSize: 8,
  cache: true,
  resultsDir: tempDir(),
  resultsFile: 'results.jsonl',
  ...over,
});

beforeEach(() => {
  process.env.REPROBE_HOME = tempDir();
});

/** A method that reads images itself: it predicts the first training image's class, and keeps what it was given. */
function imagesMethod(seen: ImageCell[]): Method {
  return {
    name: 'first-class',
    task: 'test',
    command: 'first-class',
    summary: 'predicts the class of the first training image',
    needs: 'images',
    options: {},
    flags: {},
    presentation: { column: 'first', order: 0, family: 'classification', shots: true },
    recordFields: { guess: z.number().int().describe('the class it predicts') },
    async run(cell) {
      seen.push(cell);
      const guess = cell.dataset.samples[cell.train[0]].label;
      return cell.tests.map((t) => ({
        eval_split: t.name,
        metric: 'accuracy',
        value: t.idx.filter((i) => cell.dataset.samples[i].label === guess).length / t.idx.length,
        fit_seconds: 0,
        fields: { guess },
        runtime: 'test runtime',
      }));
    },
  };
}

test('a method that reads images gets the backbone and a split of readable images only, settled without extracting features', async () => {
  const root = tempDir();
  for (const [c, cls] of ['a', 'b'].entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(root, cls, `0-broken-${i}.png`), 'x');
    for (let i = 0; i < 4; i++) await png(join(root, cls, `img${i}.png`), 40 + c * 120 + i * 5);
  }
  const seen: ImageCell[] = [];
  const redrawn: number[] = [];
  const out = await runCells(job({ dataset: `folder:${root}`, methods: [imagesMethod(seen)], options: {} }), { onRedrawn: (n) => redrawn.push(n) });
  assert.equal(seen.length, 1);
  const cell = seen[0];
  assert.equal(cell.backbone.card.id, 'mobilenet-v2');
  const used = [...cell.train, ...cell.val, ...cell.tests.flatMap((t) => t.idx)].map((i) => cell.dataset.samples[i].id);
  assert.ok(used.every((id) => !id.includes('broken')), used.join(' '));
  assert.deepEqual([cell.train.length, cell.val.length, cell.tests[0].idx.length], [4, 2, 2]);
  assert.deepEqual(redrawn, [12]);
  const [rec] = out.records;
  assert.deepEqual([rec.method, rec.task, rec.runtime, rec.features_key, rec.n_train, rec.skipped_images, rec.guess], ['first-class', 'test', 'test runtime', null, 4, 12, cell.dataset.samples[cell.train[0]].label]);
});

test('a redrawn split on official sets reads only its new images; a method cannot overwrite a shared record field', async () => {
  const root = tempDir();
  const dir = join(root, 'fmow_v1.1');
  const lines: string[] = [];
  // Per class: 3 readable train images, 4 unreadable ones listed first, 2 val, 2 OOD test, 2 ID test.
  for (const [c, cls] of ['airport', 'dam'].entries()) {
    const add = async (split: string, year: number, ok: boolean) => {
      const path = join(dir, 'images', `rgb_img_${lines.length}.png`);
      lines.push(`${split},${cls},USA,${year}-03-01T00:00:00Z`);
      if (ok) await png(path, 30 + c * 150 + lines.length * 2);
      else {
        mkdirSync(join(dir, 'images'), { recursive: true });
        writeFileSync(path, 'broken');
      }
    };
    for (let i = 0; i < 4; i++) await add('train', 2010, false);
    for (let i = 0; i < 3; i++) await add('train', 2011, true);
    for (let i = 0; i < 2; i++) await add('val', 2014, true);
    for (let i = 0; i < 2; i++) await add('test', 2017, true);
    for (let i = 0; i < 2; i++) await add('test', 2012, true);
  }
  writeFileSync(join(dir, 'rgb_metadata.csv'), 'split,category,country_code,timestamp\n' + lines.join('\n') + '\n');
  writeFileSync(join(dir, 'country_code_mapping.csv'), 'alpha-3,region\nUSA,Americas\n');
  const seen: number[] = [];
  const out = await runCells(job({ dataset: 'fmow', dataRoot: root, split: { protocol: 'shots', shots: 3, valPerClass: 1, seed: 1 } }), { onBackbone: (_b, _r, _l, n) => seen.push(n) });
  const rec = out.records.find((r) => r.eval_split === 'ood_test')!;
  assert.equal(rec.n_train, 6, 'three readable train images per class');
  assert.match(String(rec.features_key), /^[0-9a-f]{20}(\+[0-9a-f]{20})+$/, 'a first read, then reads of the newly drawn images only');
  const split = JSON.parse(readFileSync(rec.split_file, 'utf8')) as { train: string[]; unreadable: string[] };
  assert.ok(split.unreadable.length > 0 && split.train.every((id) => !split.unreadable.includes(id)));
  assert.equal(rec.skipped_images, split.unreadable.length, 'each unreadable image was read once');

  const greedy: Method = { ...getMethod('knn'), name: 'greedy', run: async () => [{ eval_split: 'test', metric: 'accuracy', value: 1, fit_seconds: 0, fields: { n_test: 1e6 } }] } as Method;
  await assert.rejects(runCells(job({ methods: [greedy], split: { protocol: 'shots', shots: 1, valPerClass: 0, testPerClass: 1, seed: 0 } })), /returns fields that every record has: n_test/);
});
