/**
 * The study cards on their full-size architectures (transformers' classes, random weights; tools/hf_export.py): per
 * card, the export's names against the card, reprobe's feature against transformers' (cosine), the tfjs translation
 * (ops), `last:N` blocks, explain methods, and end-to-end images/s of reprobe (sharp decode + preprocessing +
 * onnxruntime) against transformers (PIL processor + torch forward) on the same images, threads and CPU, in one run.
 *   tools/make-venv.sh && npm run bench:backbones            # every card (exports cached in $BENCH_DIR)
 *   CARDS=dino-vits16,vit-b32 N=64 THREADS=2 npm run bench:backbones
 *   SPEED=0 npm run bench:backbones                          # names, cosine, ops, blocks, explain only
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { STUDY_CARDS } from '../src/backbones/cards/study.ts';
import { onnxBlocks } from '../src/runtime/onnx-blocks.ts';
import { openOnnxBackbone } from '../src/backbones/onnx-backbone.ts';
import { loadFolder } from '../src/data/folder.ts';
import { explainersFor } from '../src/explain/explainers.ts';
import { extractFeatures } from '../src/features/extract.ts';
import { onnxToTfjs } from '../src/runtime/onnx-tfjs.ts';
import { findPython } from '../src/jobs/export-model.ts';
import { reprobeHome } from '../src/util/paths.ts';
import { compareRows } from '../src/jobs/verify-model.ts';
import { pixelsFormula, rowsMatrix, type HfReference } from '../test/fixtures/hf-references.ts';
import { sharedDir, spread } from './common.ts';

const python = findPython();
const tool = join(import.meta.dirname, '..', 'tools', 'hf_export.py');
const root = process.env.BENCH_DIR ?? join(reprobeHome(), 'bench-exports');
const n = Number(process.env.N ?? 64);
const threads = Number(process.env.THREADS ?? 2);
const wanted = process.env.CARDS?.split(',');
const speed = process.env.SPEED !== '0';
const shared = sharedDir();
if (!shared) throw new Error('needs ../shared/data (UC Merced photos for the throughput run)');
const ds = await loadFolder(join(shared, 'data', 'ucmerced', 'Images'));
const samples = spread(ds.samples, n);
const list = join(root, 'images.txt');
mkdirSync(root, { recursive: true });
writeFileSync(list, samples.map((s) => (s.source.kind === 'file' ? s.source.path : '')).join('\n'));

const rows: string[][] = [];
for (const card of STUDY_CARDS.filter((c) => !wanted || wanted.includes(c.id))) {
  const dir = join(root, card.id);
  if (!existsSync(join(dir, 'reference.json'))) {
    process.stderr.write(`${card.id}: exporting the full-size model to ${dir}\n`);
    execFileSync(python, [tool, 'card', card.id, '--full', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as HfReference;
  const model = join(dir, ref.file);
  const names = card.source.kind === 'hub' && basename(card.source.file) === ref.file && ref.outputs.includes(card.output.name) && card.output.pooling === ref.feature.pooling;
  const backbone = await openOnnxBackbone(card, model, { threads });
  const got = await backbone.embed(pixelsFormula(ref.features.length, ref.size), ref.features.length);
  const cmp = compareRows(got, rowsMatrix(ref.features));
  const cos = cmp.cosines[cmp.worst];
  const t0 = performance.now();
  if (speed) await extractFeatures(backbone, samples, { batchSize: 16 });
  const ours = samples.length / ((performance.now() - t0) / 1000);
  await backbone.dispose();
  const theirs = speed ? (JSON.parse(execFileSync(python, [tool, 'bench', card.id, '--list', list, '--threads', String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').at(-1)!) as { images_per_s: number }) : { images_per_s: NaN };
  const bytes = new Uint8Array(readFileSync(model));
  let ops = 'all';
  try {
    onnxToTfjs(bytes, { scope: `bench-${card.id}` }).dispose();
  } catch (err) {
    ops = `no: ${(err as Error).message.slice(0, 80)}`;
  }
  const blocks = card.blocks ? String(onnxBlocks(bytes, card.blocks, card.output.name).length) : '-';
  rows.push([card.id, names ? 'yes' : 'NO', cos.toFixed(6), ops, blocks, explainersFor(card).join(', ') || '-', ours.toFixed(1), theirs.images_per_s.toFixed(1), (ours / theirs.images_per_s).toFixed(2)]);
  process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
}
const head = ['card', 'names', 'feature cosine', 'ops translated', 'last:N blocks', 'explain', 'reprobe img/s', 'transformers img/s', 'ratio'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
console.log(`\n${samples.length} UC Merced images, batch 16, ${threads} threads, random weights; ${new Date().toISOString().slice(0, 10)}`);
