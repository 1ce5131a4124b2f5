import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCardFile } from '../../src/backbones/card-file.ts';
import { openOnnxBackbone } from '../../src/backbones/onnx-backbone.ts';
import type { Sample } from '../../src/data/types.ts';
import { extractFeatures } from '../../src/features/extract.ts';

const shared = join(import.meta.dirname, '..', '..', '..', 'shared');
const model = join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
const skip = existsSync(model) ? false : 'needs ../shared/models/mobilenetv2-12-int8 (not on a fresh machine)';

const filesIn = (dir: string): Sample[] => readdirSync(dir).sort().map((f) => ({ id: f, label: 0, source: { kind: 'file', path: join(dir, f) } }));
const top = (row: Float32Array, k: number) => [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, k);

test('the shared ImageNet MobileNetV2 (ONNX, int8) classifies real photos sensibly with the example card', { skip }, async () => {
  const card = await loadCardFile(join(import.meta.dirname, '..', '..', 'configs', 'cards', 'mobilenetv2-12-int8.json'), model);
  const bb = await openOnnxBackbone(card, model);
  const logits = async (samples: Sample[]) => {
    const f = (await extractFeatures(bb, samples, { batchSize: 8 })).features;
    assert.equal(f.cols, 1000);
    return Array.from({ length: f.rows }, (_, r) => f.data.subarray(r * 1000, (r + 1) * 1000));
  };
  // UC Merced aerial airplanes: aircraft carrier 403, airliner 404, airship 405, warplane 895, wing 908 in the top 5.
  const planes = await logits(filesIn(join(shared, 'data', 'ucmerced', 'Images', 'airplane')).slice(0, 10));
  const planeHits = planes.filter((r) => top(r, 5).some((c) => [403, 404, 405, 895, 908].includes(c))).length;
  assert.ok(planeHits >= 9, `airplanes recognised: ${planeHits}/10`);
  // DTD "cobwebbed" textures: ImageNet's "spider web" (815) first.
  const webs = await logits(filesIn(join(shared, 'data', 'dtd', 'images', 'cobwebbed')));
  const webHits = webs.filter((r) => top(r, 1)[0] === 815).length;
  assert.ok(webHits >= webs.length - 2, `spider webs: ${webHits}/${webs.length}`);
  await bb.dispose();
});
