import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import protos from 'onnx-proto';
import sharp from 'sharp';
import { openBackbone } from '../../src/backbones/registry.ts';
import type { Sample } from '../../src/data/types.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { ConfigError, DataError, ReprobeError } from '../../src/errors.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { compareRows, verifyModel, type VerifySpec } from '../../src/jobs/verify-model.ts';
import { takeRows, type Matrix } from '../../src/util/matrix.ts';
import { writeNpy } from '../../src/util/npy.ts';
import { colorClipModels, colorTokenizer, DIM, tokenVector } from '../fixtures/clip-color.ts';
import { startHub } from '../fixtures/loopback-hub.ts';
import { tinyConvNet } from '../fixtures/onnx-fixtures.ts';
import { tempDir } from '../helpers.ts';

process.env.REPROBE_HOME = tempDir();
process.env.HF_HUB_CACHE = tempDir();
const REPO = 'Xenova/clip-vit-base-patch32';
const clip = colorClipModels();
const tok = colorTokenizer();
const enc = new TextEncoder();
const hub = await startHub({
  [`${REPO}/onnx/vision_model.onnx`]: clip.vision,
  [`${REPO}/onnx/text_model.onnx`]: clip.text,
  [`${REPO}/vocab.json`]: enc.encode(tok.vocabJson),
  [`${REPO}/merges.txt`]: enc.encode(tok.mergesTxt),
});
process.env.HF_ENDPOINT = hub.endpoint;
after(() => hub.close());

const dir = tempDir();
const images = join(dir, 'images');
/**
 * The rows' order worked out by hand: code-point order of the relative paths (Python's sorted()), so "Z" sorts before
 * "a" and the top-level files before the digits folder; the folders are searched recursively.
 */
const ORDER = ['Z-stripes.png', 'a-gradient.jpg', 'digits/0/0.png', 'digits/3/4000.png', 'digits/6/7000.png', 'digits/8/9000.png'];

async function writeImages(): Promise<void> {
  const mnist = await loadMnist();
  for (const id of ORDER.filter((p) => p.startsWith('digits/'))) {
    const s = mnist.samples[Number(id.split('/')[2].replace('.png', ''))];
    assert.equal(mnist.classes[s.label], id.split('/')[1]);
    if (s.source.kind !== 'raw') throw new Error('mnist digits are raw pixels');
    mkdirSync(join(images, 'digits', id.split('/')[1]), { recursive: true });
    await sharp(Buffer.from(s.source.data), { raw: { width: s.source.width, height: s.source.height, channels: s.source.channels } }).png().toFile(join(images, id));
  }
  const rgb = (w: number, h: number, f: (x: number, y: number) => number[]) =>
    sharp(Buffer.from(Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))).flat()), { raw: { width: w, height: h, channels: 3 } });
  await rgb(64, 40, (x, y) => [x * 4, y * 6, 128]).jpeg({ quality: 95 }).toFile(join(images, 'a-gradient.jpg'));
  await rgb(50, 70, (x, y) => (((x >> 3) + (y >> 3)) % 2 ? [230, 40, 40] : [20, 60, 200])).png().toFile(join(images, 'Z-stripes.png'));
  writeFileSync(join(images, 'notes.txt'), 'not an image');
}
await writeImages();
const samples: Sample[] = ORDER.map((id) => ({ id, source: { kind: 'file', path: join(images, id) }, label: 0 }));

const npy = (name: string, m: Matrix) => {
  const p = join(dir, name);
  writeFileSync(p, writeNpy({ data: m.data, shape: [m.rows, m.cols] }));
  return p;
};
const json = (name: string, doc: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(doc));
  return p;
};
const spec = (s: Partial<VerifySpec> & Pick<VerifySpec, 'backbone'>): VerifySpec => ({ batchSize: 4, open: { runtime: 'auto' }, images, ...s });

/** Features of the samples (in ORDER) by a backbone opened with these options. */
async function features(name: string, opt: Parameters<typeof openBackbone>[1]): Promise<Matrix> {
  const bb = await openBackbone(name, opt);
  try {
    return (await extractFeatures(bb, samples, { batchSize: 4 })).features;
  } finally {
    await bb.dispose();
  }
}

test('mobilenet-v2 on its converted ONNX graph passes against features tfjs computes on the original layers model', async () => {
  const ref = await features('mobilenet-v2', { runtime: 'tfjs' });
  assert.deepEqual([ref.rows, ref.cols], [ORDER.length, 576]);
  const reference = npy('mobilenet-tfjs.npy', ref);
  const r = await verifyModel(spec({ backbone: 'mobilenet-v2', reference, open: { runtime: 'onnx' } }));
  assert.match(r.images!.runtime, /^onnxruntime-node .*converted/);
  assert.deepEqual(r.images!.ids, ORDER);
  assert.equal(r.images!.tap, 'block_13_expand_relu');
  assert.ok(r.images!.cosines[r.images!.worst] >= 0.999, `worst cosine ${r.images!.cosines[r.images!.worst]}`);
  assert.ok(r.pass);

  // Rows in another order fail (exit 1 in the CLI), unless --ids gives that order.
  const perm = [3, 0, 5, 1, 4, 2];
  const shuffled = npy('mobilenet-shuffled.npy', takeRows(ref, perm));
  const bad = await verifyModel(spec({ backbone: 'mobilenet-v2', reference: shuffled, open: { runtime: 'onnx' } }));
  assert.equal(bad.pass, false);
  assert.ok(bad.images!.cosines[bad.images!.worst] < 0.999);
  const ids = json('shuffled-ids.json', { ids: perm.map((i) => ORDER[i]) }); // the shape reprobe extract -o writes
  const ok = await verifyModel(spec({ backbone: 'mobilenet-v2', reference: shuffled, ids, open: { runtime: 'onnx' } }));
  assert.ok(ok.pass);
  assert.deepEqual(ok.images!.ids, perm.map((i) => ORDER[i]));
});

/** An ONNX model with one weight changed by `delta`. */
function alterWeight(bytes: Uint8Array, name: string, index: number, delta: number): Uint8Array {
  const m = protos.onnx.ModelProto.decode(bytes);
  const t = m.graph!.initializer!.find((i) => i.name === name)!;
  const raw = Uint8Array.from(t.rawData!);
  new DataView(raw.buffer).setFloat32(index * 4, new DataView(raw.buffer).getFloat32(index * 4, true) + delta, true);
  t.rawData = raw;
  return protos.onnx.ModelProto.encode(m).finish();
}

const model = join(dir, 'conv.onnx');
const altered = join(dir, 'conv-altered.onnx');
const original = tinyConvNet({ size: 32, stride: 4, dim: 10 });
writeFileSync(model, original);
writeFileSync(altered, alterWeight(original, 'head_w', 0, 1));
const card = json('conv.json', { input: { height: 32, width: 32 }, preprocess: { resizeTo: 36, interpolation: 'bicubic' }, output: { name: 'pooler_output' } });

test('a user ONNX model passes against its own features and fails when one weight is changed', async () => {
  const reference = npy('conv.npy', await features(model, { runtime: 'auto', card }));
  const same = await verifyModel(spec({ backbone: model, card, reference }));
  assert.ok(same.pass);
  assert.ok(same.images!.mean > 0.999999);
  const r = await verifyModel(spec({ backbone: altered, card, reference }));
  assert.equal(r.pass, false);
  assert.ok(r.images!.cosines[r.images!.worst] < 0.999, `worst ${r.images!.cosines[r.images!.worst]}`);
  assert.equal(r.images!.cosines[r.images!.worst], Math.min(...r.images!.cosines));
  // A looser tolerance lets it through: the verdict is the tolerance's.
  assert.ok((await verifyModel(spec({ backbone: altered, card, reference, tolerance: Math.min(...r.images!.cosines) - 1e-9 }))).pass);
});

/** The one-line error a call throws. */
async function failure(s: VerifySpec, type: typeof ReprobeError, re: RegExp): Promise<void> {
  await assert.rejects(verifyModel(s), (err: Error) => {
    assert.ok(err instanceof type, `${err.name}: ${err.message}`);
    assert.equal(err.message.split('\n').length, 1);
    assert.match(err.message, re);
    return true;
  });
}

test('bad inputs are one line each: row count, missing reference, dims, dtype, ids, unreadable image, tolerance', async () => {
  const ref = await features(model, { runtime: 'auto', card });
  const base = { backbone: model, card };
  await failure(spec({ ...base, reference: npy('short.npy', takeRows(ref, [0, 1, 2])) }), DataError, /short\.npy has 3 rows but .*images has 6 images/);
  await failure(spec({ ...base, reference: join(dir, 'nope.npy') }), ConfigError, /Reference file ".*nope\.npy" does not exist/);
  await failure(spec({ ...base, reference: npy('wide.npy', { rows: 6, cols: 7, data: new Float32Array(42) }) }), DataError, /wide\.npy rows have 7 values; conv @ pooler_output\[none\] gives 10/);
  await failure(spec({ backbone: 'mobilenet-v2', reference: npy('wide2.npy', { rows: 6, cols: 7, data: new Float32Array(42) }) }), DataError, /rows have 7 values; mobilenet-v2 gives 576-d/);
  const f64 = join(dir, 'f64.npy');
  writeFileSync(f64, Buffer.from(writeNpy({ data: ref.data, shape: [ref.rows, ref.cols] })).toString('latin1').replace("'<f4'", "'<f8'"), 'latin1');
  await failure(spec({ ...base, reference: f64 }), DataError, /f64\.npy: .*float32/);
  await failure(spec({ ...base, reference: npy('ok.npy', ref), ids: json('ids.json', ['digits/0/0.png', 'gone.png']) }), DataError, /1 of the 2 ids .* not files .*first: gone\.png/);
  await failure(spec({ ...base, reference: npy('ok.npy', ref), tolerance: 2 }), ConfigError, /--tolerance 2/);
  await failure(spec({ ...base, images: join(dir, 'nowhere'), reference: npy('ok.npy', ref) }), ConfigError, /is not a folder/);
  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'x.png'), 'not a png');
  await failure(spec({ ...base, images: broken, reference: npy('one.npy', takeRows(ref, [0])) }), DataError, /1 image\(s\) could not be read \(first: x\.png/);
  await failure(spec({ backbone: 'mobilenet-v2', card, reference: npy('ok.npy', ref) }), ConfigError, /--card describes a model file/);
  await failure(spec({ ...base, images: undefined }), ConfigError, /Give --images DIR --reference ref\.npy/);
  await failure(spec({ backbone: 'mobilenet-v2', texts: json('t.txt', 'x'), tokenReference: json('t.json', [[1]]), images: undefined }), ConfigError, /mobilenet-v2 has no text tower/);
});

test('compareRows: cosine per row (both zero: 1, one zero: 0), a NaN row is the worst', () => {
  const got = { rows: 4, cols: 2, data: Float32Array.from([1, 0, 0, 0, 0, 0, 3, 4]) };
  const ref = { rows: 4, cols: 2, data: Float32Array.from([2, 0, 0, 0, 0, 1, 4, 3]) };
  const c = compareRows(got, ref);
  assert.deepEqual([...c.cosines], [1, 1, 0, 24 / 25]);
  assert.equal(c.worst, 2);
  assert.equal(c.mean, (2 + 24 / 25) / 4);
  const nan = compareRows({ ...got, data: Float32Array.from([1, 0, 0, 0, 0, 0, NaN, 4]) }, ref);
  assert.equal(nan.worst, 3);
  assert.ok(Number.isNaN(nan.mean));
});

// The colour CLIP pair (test/fixtures/clip-color.ts) as clip-vit-b32: token ids and text embeddings worked out by hand.
const TEXTS = ['a photo of a red thing.', 'the blue colour.', 'green'];
const wordIds = (t: string) => [tok.vocab['<|startoftext|>'], ...t.replace('.', ' .').split(' ').map((w) => tok.vocab[`${w}</w>`]), tok.vocab['<|endoftext|>']];
const ID_TO_TOKEN = Object.fromEntries(Object.entries(tok.vocab).map(([k, v]) => [v, k]));
function textEmbeddings(): Matrix {
  const data = new Float32Array(TEXTS.length * DIM);
  TEXTS.forEach((t, i) => {
    const ids = wordIds(t);
    for (let j = 0; j < 3; j++) data[i * DIM + j] = ids.reduce((a, id) => a + tokenVector(ID_TO_TOKEN[id], id)[j], 0) / ids.length;
  });
  return { rows: TEXTS.length, cols: DIM, data };
}

test('a text tower: token ids equal (padding after the end token ignored) and text embeddings by cosine', async () => {
  const texts = join(dir, 'texts.txt');
  writeFileSync(texts, TEXTS.join('\n') + '\n');
  // clip.tokenize pads with 0s to 77; transformers pads with the end token: both are cut after the first end token.
  const padded = TEXTS.map((t, i) => [...wordIds(t), ...Array(i === 1 ? 3 : 77 - wordIds(t).length).fill(i === 1 ? tok.vocab['<|endoftext|>'] : 0)]);
  const tokenReference = json('tokens.json', padded);
  const textReference = npy('text.npy', textEmbeddings());
  const base = { backbone: 'clip', images: undefined, texts };
  const r = await verifyModel(spec({ ...base, tokenReference, textReference }));
  assert.equal(r.backbone, 'clip-vit-b32');
  assert.deepEqual(r.text!.tokens!.mismatches, []);
  assert.ok(r.text!.embeddings!.cosines.every((c) => c > 0.99999), String(r.text!.embeddings!.cosines));
  assert.ok(r.pass);

  // One id changed (as JSON lines, as reprobe tokenize prints): that text fails, with both lists.
  const wrong = padded.map((ids, i) => (i === 2 ? [ids[0], tok.vocab['red</w>'], ...ids.slice(2)] : ids));
  const lines = join(dir, 'tokens.jsonl');
  writeFileSync(lines, wrong.map((ids) => JSON.stringify(ids)).join('\n'));
  const bad = await verifyModel(spec({ ...base, tokenReference: lines }));
  assert.equal(bad.pass, false);
  assert.deepEqual(bad.text!.tokens!.mismatches.map((m) => [m.index, m.got]), [[2, wordIds('green')]]);

  await failure(spec({ ...base, textReference: npy('text-short.npy', takeRows(textEmbeddings(), [0, 1])) }), DataError, /text-short\.npy has 2 rows but .*texts\.txt has 3 texts/);
  await failure(spec({ ...base, textReference: npy('text-wide.npy', { rows: 3, cols: 4, data: new Float32Array(12) }) }), DataError, /text-wide\.npy rows have 4 values; clip-vit-b32's text tower gives 512/);
  await failure(spec({ ...base, tokenReference: json('tokens-short.json', padded.slice(1)) }), DataError, /has 2 id lists but .* has 3 texts/);
  await failure(spec({ ...base, tokenReference: json('not-tokens.json', { a: 1 }) }), DataError, /is not token ids/);
});

test('--ids reads only under --images: ../ paths, absolute paths and a symlink out of the folder are refused', async () => {
  const outside = tempDir();
  writeFileSync(join(outside, 'secret.png'), 'x');
  const linked = join(images, 'linked');
  if (!existsSync(linked)) symlinkSync(outside, linked);
  after(() => rmSync(linked, { force: true })); // not listed by the tests before
  const reference = npy('one-row.npy', { rows: 1, cols: 576, data: new Float32Array(576) } as Matrix);
  for (const id of [`../${join(outside, 'secret.png').split('/').slice(-2).join('/')}`, join(outside, 'secret.png'), 'linked/secret.png']) {
    const ids = json('escape-ids.json', [id]);
    await assert.rejects(verifyModel(spec({ backbone: 'mobilenet-v2', reference, ids })), (e) => e instanceof DataError && e.message.startsWith(`--ids ${ids}: 1 of the 1 ids lead outside --images`) && e.message.includes(`"${id}"`), id);
  }
});
