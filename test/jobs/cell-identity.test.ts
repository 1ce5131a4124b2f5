import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { getMethod } from '../../src/jobs/methods.ts';
import { runCells, type CellJob } from '../../src/jobs/run-cells.ts';
import { reportMarkdown } from '../../src/report/markdown.ts';
import { buildReport } from '../../src/report/sections.ts';
import { latestPerCell, readStore } from '../../src/results/job-store.ts';
import { defaultsOf } from '../../src/util/options.ts';
import { colorClipModels, colorTokenizer } from '../fixtures/clip-color.ts';
import { generatedFmow } from '../fixtures/generated-fmow.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { tempDir } from '../helpers.ts';

const SEEDS = [0, 1, 2];
const REPO = 'Xenova/clip-vit-base-patch32';
const models = colorClipModels();
const tok = colorTokenizer();
const hub = await startHub({
  [`${REPO}/onnx/vision_model.onnx`]: models.vision,
  [`${REPO}/onnx/text_model.onnx`]: models.text,
  [`${REPO}/vocab.json`]: new TextEncoder().encode(tok.vocabJson),
  [`${REPO}/merges.txt`]: new TextEncoder().encode(tok.mergesTxt),
});
after(() => hub.close());
process.env.REPROBE_HOME = tempDir();
process.env.HF_ENDPOINT = hub.endpoint;
process.env.HF_HUB_CACHE = tempDir();

async function png(path: string, rgb: [number, number, number]): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path);
}

/** 3 colour classes x 6 images, each image its own shade. */
async function colourFolder(): Promise<string> {
  const root = tempDir();
  const base: Record<string, [number, number, number]> = { blue: [10, 20, 230], green: [20, 220, 30], red: [230, 20, 20] };
  for (const [cls, [r, g, b]] of Object.entries(base)) for (let i = 0; i < 6; i++) await png(join(root, cls, `${i}.png`), [r + i * 4, g + ((i * 37) % 60), b - i * 5]);
  return root;
}

/** One cell job per seed, all into one store. */
async function seeds(resultsDir: string, over: Partial<CellJob> & Pick<CellJob, 'dataset' | 'methods' | 'split'>): Promise<void> {
  const options = Object.assign({}, ...over.methods.map((m) => defaultsOf(m.options)), over.options) as Record<string, unknown>;
  for (const seed of SEEDS)
    await runCells({ backbones: ['mobilenet-v2'], open: { runtime: 'auto', threads: 1 }, batchSize: 8, cache: true, resultsDir, ...over, options, split: { ...over.split, seed } });
}

const kinds: { kind: string; job: () => Promise<Partial<CellJob> & Pick<CellJob, 'dataset' | 'methods' | 'split'>> }[] = [
  { kind: 'general (few-shot probe)', job: async () => ({ dataset: `folder:${await colourFolder()}`, methods: [getMethod('knn')], options: { knnK: [1] }, split: { protocol: 'shots', shots: 2, valPerClass: 1, seed: 0 } }) },
  { kind: 'WILDS clustering (official test sets, nothing drawn)', job: async () => ({ dataset: 'fmow', dataRoot: await generatedFmow(), methods: [getMethod('cluster')], options: { clusterSet: 'auto', neighbors: 5 }, split: { protocol: 'shots', shots: 0, valPerClass: 0, seed: 0 } }) },
  { kind: 'whole-set clustering', job: async () => ({ dataset: `folder:${await colourFolder()}`, methods: [getMethod('kmeans')], split: { protocol: 'shots', shots: 0, valPerClass: 0, seed: 0 } }) },
  { kind: 'zero-shot', job: async () => ({ backbones: ['clip-vit-b32'], dataset: `folder:${await colourFolder()}`, methods: [getMethod('zeroshot')], options: { templates: writeTemplates() }, split: { protocol: 'shots', shots: 0, valPerClass: 0, seed: 0 } }) },
];

function writeTemplates(): string {
  const path = join(tempDir(), 'colours.txt');
  writeFileSync(path, 'a photo of a {c}.\nthe {c} thing.\n');
  return path;
}

for (const { kind, job } of kinds)
  test(`identity, ${kind}: ${SEEDS.length} seeds give ${SEEDS.length} cells of one configuration, and the report averages them with n = ${SEEDS.length}`, async () => {
    const results = tempDir();
    await seeds(results, await job());
    const records = latestPerCell((await readStore(results)).records);
    const sets = [...new Set(records.map((r) => r.eval_split))];
    for (const set of sets) {
      const of = records.filter((r) => r.eval_split === set);
      assert.deepEqual(of.map((r) => r.seed).sort(), SEEDS, `${set}: one record per seed survives`);
      assert.equal(new Set(of.map((r) => r.cell_id)).size, SEEDS.length, `${set}: one cell per seed`);
      assert.equal(new Set(of.map((r) => r.config_id)).size, 1, `${set}: one configuration`);
    }
    // Each record keeps its per-image predictions (clustering: assignments) beside it; they give back its number.
    for (const r of records) {
      const doc = JSON.parse(readFileSync(String(r.predictions), 'utf8')) as { kind: string; ids: string[]; truth: number[]; pred?: number[]; cluster?: number[] };
      assert.equal(doc.ids.length, r.task === 'cluster' ? r.n_points : r.n_test);
      if (doc.kind === 'predictions') assert.equal(doc.truth.filter((t, i) => t === doc.pred![i]).length / doc.ids.length, r.value, `${r.method} ${r.eval_split}`);
      else assert.equal(doc.cluster!.length, doc.ids.length);
    }
    // The report (markdown, as `reprobe report` writes it) shows each set's mean ± sample std with n = 3, worked out here from the values.
    const md = reportMarkdown(buildReport(records, { curves: new Map(), svgs: new Map(), predictions: new Map() }, results));
    for (const set of sets) {
      const v = records.filter((r) => r.eval_split === set).map((r) => r.value);
      const mean = (v[0] + v[1] + v[2]) / 3;
      const std = Math.sqrt(((v[0] - mean) ** 2 + (v[1] - mean) ** 2 + (v[2] - mean) ** 2) / 2);
      assert.ok(md.includes(`${mean.toFixed(4)} ± ${std.toFixed(4)} (n=3)`), `${set}: ${v.join(', ')} → ${mean.toFixed(4)} ± ${std.toFixed(4)} (n=3) not in\n${md}`);
    }
  });

test('a backbone named by alias and by id is one backbone: records carry the id, and the report has one row with n = 3', async () => {
  const results = tempDir();
  const dataset = `folder:${await colourFolder()}`;
  const options = { ...defaultsOf(getMethod('zeroshot').options), templates: writeTemplates() } as Record<string, unknown>;
  // Seeds 0 and 1 by the alias, seed 2 by the id.
  for (const [seed, name] of [[0, 'clip'], [1, 'clip'], [2, 'clip-vit-b32']] as const)
    await runCells({ backbones: [name], dataset, methods: [getMethod('zeroshot')], options, open: { runtime: 'auto', threads: 1 }, batchSize: 8, cache: true, resultsDir: results, split: { protocol: 'shots', shots: 0, valPerClass: 0, seed } });
  const records = latestPerCell((await readStore(results)).records);
  assert.deepEqual([...new Set(records.map((r) => r.backbone))], ['clip-vit-b32']);
  const md = reportMarkdown(buildReport(records, { curves: new Map(), svgs: new Map(), predictions: new Map() }, results));
  assert.ok(md.includes('(n=3)'), md);
  assert.doesNotMatch(md, /\(n=2\)|\| clip \|/);
});
