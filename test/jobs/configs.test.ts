import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseCardFile } from '../../src/backbones/card-file.ts';
import { CARDS } from '../../src/backbones/cards/index.ts';
import { resolveCard } from '../../src/backbones/registry.ts';
import { FinetuneJobSchema, ProbeJobSchema } from '../../src/jobs/job-schema.ts';
import { checkSweep } from '../../src/jobs/sweep-schema.ts';

const configs = join(import.meta.dirname, '..', '..', 'configs');

test('every configs/*.yaml is a valid job of its command (probe-*, finetune-*) naming known backbones', () => {
  const files = readdirSync(configs).filter((f) => f.endsWith('.yaml') && !SWEEPS.includes(f));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const schema = f.startsWith('finetune-') ? FinetuneJobSchema : ProbeJobSchema;
    assert.ok(f.startsWith('finetune-') || f.startsWith('probe-'), f);
    const job = schema.strict().parse(parse(readFileSync(join(configs, f), 'utf8')));
    for (const b of job.backbones) assert.equal(typeof resolveCard(b).id, 'string', `${f}: ${b}`);
  }
});

const SWEEPS = ['quick.yaml', 'study.yaml', 'wilds-drift.yaml'];

test("the shipped sweep files check; the study's grid has its job count", () => {
  const jobs = Object.fromEntries(SWEEPS.map((f) => [f, checkSweep(parse(readFileSync(join(configs, f), 'utf8')), f).jobs]));
  assert.equal(jobs['quick.yaml'].length, 2 * (2 * 2 * 3 + 2));
  // 14 backbones x (15 dataset shot levels up to 100 x (knn, lr) + 19 levels x finetune + 8 datasets x (cluster, kmeans)).
  assert.equal(jobs['study.yaml'].length, 14 * (15 * 2 + 19 + 8 * 2));
  // Clustering takes each whole dataset: 0 shots, every image tested.
  assert.ok(jobs['study.yaml'].filter((j) => j.method === 'cluster').every((j) => j.shots === 0 && j.protocol === 'shots'));
  assert.equal(jobs['wilds-drift.yaml'].length, 5 * 2 * 3 * 3 * 4);
});

test('every configs/cards/*.json parses as a card', () => {
  for (const f of readdirSync(join(configs, 'cards'))) {
    const card = parseCardFile(JSON.parse(readFileSync(join(configs, 'cards', f), 'utf8')), `/models/${f}.onnx`);
    assert.equal(card.source.kind, 'file');
  }
});

test('card names and aliases are unique; every shorter-side card crops inside its resize', () => {
  const names = CARDS.flatMap((c) => [c.id, ...(c.aliases ?? [])]);
  assert.equal(new Set(names).size, names.length);
  for (const c of CARDS) if (c.preprocess.resize === 'shorter') assert.ok((c.preprocess.resizeTo ?? 0) >= Math.max(c.input.height, c.input.width), c.id);
  assert.equal(resolveCard('dino').id, 'dino-vits16');
  assert.equal(resolveCard('clip').id, 'clip-vit-b32');
});
