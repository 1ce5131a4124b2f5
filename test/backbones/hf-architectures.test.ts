/**
 * Every study card against its model's real architecture (tools/hf_export.py: transformers' own classes, shrunk,
 * random weights, exported as the hub's ONNX files are): the card's file, input, output and pooling are the export's,
 * its feature size and input size the hub config's, and reprobe's feature equals transformers' on the same pixels.
 * The preprocessing test compares reprobe's resize and crop with the repo's image processor on real photos.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { STUDY_CARDS } from '../../src/backbones/cards/study.ts';
import { openOnnxBackbone } from '../../src/backbones/onnx-backbone.ts';
import type { OnnxCard } from '../../src/backbones/types.ts';
import { decodeForCard } from '../../src/features/preprocess.ts';
import { openOnnx } from '../../src/runtime/ort.ts';
import { processorPreprocess } from '../../src/backbones/hf-processor.ts';
import { compareRows } from '../../src/jobs/verify-model.ts';
import { matrix } from '../../src/util/matrix.ts';
import { hfModelPath, hfReference, idsFormula, pixelsFormula, rowsMatrix, SHARED_DATA, type HfReference } from '../fixtures/hf-references.ts';

const hubCards = STUDY_CARDS.filter((c) => c.source.kind === 'hub');

function reference(card: OnnxCard): HfReference {
  const ref = hfReference(card.id);
  assert.ok(ref, `${card.id}: no fixture in test/fixtures/hf; add it to tools/hf_export.py SPECS and run its \`fixtures\` command`);
  return ref;
}

/** The feature size and input size the hub repo's config.json gives. */
function hubShape(ref: HfReference): { dim: number; size: number; patch?: number } {
  const c = ref.hub_config;
  const vision = (c.vision_config ?? c) as { image_size: number; patch_size?: number; hidden_size?: number };
  const dim = (c.projection_dim ?? c.hidden_dim ?? (c.hidden_sizes as number[] | undefined)?.at(-1) ?? vision.hidden_size) as number;
  return { dim, size: vision.image_size, patch: vision.patch_size };
}

for (const card of hubCards) {
  test(`${card.id}: the card names the export's file, input, output and pooling, and the hub config's sizes`, () => {
    const ref = reference(card);
    assert.equal(card.source.kind === 'hub' && basename(card.source.file), ref.file);
    assert.equal(card.source.kind === 'hub' && (card.source.checkpoint ?? card.source.repo), ref.repo, 'the checkpoint models export makes the file from');
    assert.equal(card.input.name ?? 'pixel_values', ref.input);
    assert.ok(ref.outputs.includes(card.output.name), `${card.output.name} not among ${ref.outputs.join(', ')}`);
    assert.equal(card.output.pooling, ref.feature.pooling);
    if (card.output.pooling === 'mean') assert.equal(card.output.prefixTokens ?? 1, 1, 'one CLS token precedes the patch tokens');
    const hub = hubShape(ref);
    assert.equal(card.featureDim, hub.dim);
    assert.equal(card.input.height, hub.size);
    assert.equal(card.input.width, hub.size);
    // Token models state their patch (ConvNeXt's config has a stem patch_size, which no card needs).
    assert.equal(card.patch, ref.feature.pooling === 'cls' || ref.feature.pooling === 'mean' || card.text ? hub.patch : undefined);
    if (card.text) {
      assert.ok(ref.text, 'the card has a text tower, the fixture none');
      assert.equal(basename(card.text.file), ref.text.file);
      assert.equal(card.text.output, 'text_embeds');
      assert.equal(card.text.contextLength, ref.text.context);
    }
  });

  test(`${card.id}: reprobe's feature equals transformers' on the same pixels (cosine >= 0.9999)`, async () => {
    const ref = reference(card);
    const backbone = await openOnnxBackbone({ ...card, featureDim: ref.feature.dim }, hfModelPath(ref), { threads: 1 });
    try {
      const n = ref.features.length;
      const got = await backbone.embed(pixelsFormula(n, ref.size), n);
      assert.equal(got.cols, ref.feature.dim);
      compareRows(got, rowsMatrix(ref.features)).cosines.forEach((cos, i) => assert.ok(cos >= 0.9999, `image ${i}: cosine ${cos}`));
    } finally {
      await backbone.dispose();
    }
  });

  if (card.text) {
    test(`${card.id}: the text tower's embedding equals transformers' on the same token ids`, async () => {
      const ref = reference(card);
      const text = ref.text!;
      const session = await openOnnx(hfModelPath(ref, text.file), { threads: 1 });
      try {
        const ids = idsFormula(text.text_embeds.length, text.context, text.vocab);
        const data = BigInt64Array.from(ids.flat(), (v) => BigInt(v));
        const [out] = await session.runRaw({ input_ids: { type: 'int64', data, dims: [ids.length, text.context] } }, [card.text!.output]);
        const got = matrix(out.dims[0], out.dims[1], out.data);
        compareRows(got, rowsMatrix(text.text_embeds)).cosines.forEach((cos, i) => assert.ok(cos >= 0.9999, `prompt ${i}: cosine ${cos}`));
      } finally {
        await session.dispose();
      }
    });
  }
}

/**
 * The largest gap, in normalised units, that resampling may leave between reprobe (sharp/libvips) and transformers'
 * processors (PIL) on the fixture photos: nearest is by hand with PIL's rule (exact); bilinear and bicubic differ in
 * libvips' and PIL's fixed-point kernels and antialiasing when shrinking (max on sharp texture edges, mean tiny).
 * Measured: bilinear max 0.118 mean 0.0019, bicubic max 0.210 mean 0.0053.
 */
const BOUND = { nearest: { max: 0, mean: 0 }, bilinear: { max: 0.15, mean: 0.003 }, bicubic: { max: 0.25, mean: 0.007 } };

/** Cards that keep their authors' evaluation transform instead of the repo's processor, and why. */
const OWN_TRANSFORM: Record<string, string> = {
  'dino-vits16': "DINO's eval_knn/eval_linear transform (Resize 256 bicubic, CenterCrop 224): the study's kNN protocol is DINO's",
  'dino-vitb16': "DINO's eval_knn/eval_linear transform (Resize 256 bicubic, CenterCrop 224): the study's kNN protocol is DINO's",
  'mae-base': "MAE's linear-probe transform (Resize 256 bicubic, CenterCrop 224): the authors' frozen-feature protocol",
};

async function gap(card: OnnxCard, size: number, preprocess: OnnxCard['preprocess'], photo: string, png: string): Promise<{ max: number; mean: number }> {
  const want = await sharp(join(import.meta.dirname, '..', 'fixtures', 'hf', png)).raw().toBuffer();
  const got = await decodeForCard({ kind: 'file', path: join(SHARED_DATA, photo) }, { ...card, input: { ...card.input, height: size, width: size }, preprocess });
  assert.equal(got.length, want.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]) / 255 / preprocess.std[i % 3];
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / got.length };
}

for (const card of hubCards) {
  test(`${card.id}: the card's preprocessing is its repo's image processor${OWN_TRANSFORM[card.id] ? ' (or a stated transform of its authors)' : ''}`, () => {
    const ref = reference(card);
    const { preprocess: proc, size } = processorPreprocess(ref.processor.kwargs);
    if (OWN_TRANSFORM[card.id]) return;
    assert.equal(card.input.height, size);
    const p = card.preprocess;
    assert.deepEqual([p.resize, p.interpolation, p.resize === 'shorter' ? [p.resizeTo, p.cropOffset] : []], [proc.resize, proc.interpolation, proc.resize === 'shorter' ? [proc.resizeTo, proc.cropOffset] : []]);
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(p.mean[c] - proc.mean[c]) < 1e-6 && Math.abs(p.std[c] - proc.std[c]) < 1e-6, `channel ${c}: card ${p.mean[c]}/${p.std[c]}, processor ${proc.mean[c]}/${proc.std[c]}`);
    }
    assert.ok(Math.abs(p.scale - proc.scale) < 1e-12);
  });
}

test('preprocessing: reprobe as each repo\'s processor gives its image on real photos, within a bound per interpolation', { skip: !existsSync(SHARED_DATA) && 'needs ../shared/data' }, async (t) => {
  const seen = new Set<string>();
  for (const card of hubCards) {
    const ref = reference(card);
    const { preprocess, size } = processorPreprocess(ref.processor.kwargs);
    for (const row of ref.preprocess) {
      if (!seen.has(row.image)) {
        seen.add(row.image);
        const g = await gap(card, size, preprocess, row.photo, row.image);
        const bound = BOUND[preprocess.interpolation];
        t.diagnostic(`${row.image}: max-abs ${g.max.toFixed(4)} mean-abs ${g.mean.toFixed(5)} (bound ${bound.max} / ${bound.mean})`);
        assert.ok(g.max <= bound.max && g.mean <= bound.mean, `${row.image}: max-abs ${g.max}, mean-abs ${g.mean} over the ${preprocess.interpolation} bound`);
      }
      if (OWN_TRANSFORM[card.id] && card.input.height === size) {
        const own = await gap(card, size, card.preprocess, row.photo, row.image);
        t.diagnostic(`${card.id} keeps ${OWN_TRANSFORM[card.id]}; against the processor on ${row.photo}: max-abs ${own.max.toFixed(3)} mean-abs ${own.mean.toFixed(3)}`);
      }
    }
  }
});
