import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadCardFile } from '../../src/backbones/card-file.ts';
import { openOnnxBackbone } from '../../src/backbones/onnx-backbone.ts';
import type { Sample } from '../../src/data/types.ts';
import { extractFeatures } from '../../src/features/extract.ts';
import { floatTwin } from '../fixtures/dequantize.ts';
import { tempDir } from '../helpers.ts';

/*
 * The ONNX Model Zoo's int8 MobileNetV2 with the example card, on real photos. Its int8 kernels differ by CPU: with
 * AVX2 only, onnxruntime multiplies u8 x s8 with 16-bit intermediate sums that saturate; with AVX-512 VNNI the sums are
 * exact. So class thresholds are asserted on the model's float twin (the same weights and activation ranges, float
 * kernels, which agree across CPUs: identical logits natively on AVX-512 and under `qemu-x86_64 -cpu Haswell`), and the
 * int8 model is checked against that twin with tolerances that both kernel families meet (tools/avx2-check.sh runs
 * this file on an emulated AVX2-only CPU).
 */
const shared = join(import.meta.dirname, '..', '..', '..', 'shared');
const model = join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
const skip = existsSync(model) ? false : 'needs ../shared/models/mobilenetv2-12-int8 (not on a fresh machine)';

const filesIn = (dir: string): Sample[] => readdirSync(dir).sort().map((f) => ({ id: f, label: 0, source: { kind: 'file', path: join(dir, f) } }));
const top = (row: Float32Array, k: number) => [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, k);
const cosine = (a: Float32Array, b: Float32Array) => {
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
  return ab / Math.sqrt(aa * bb);
};
// UC Merced aerial airplanes: aircraft carrier 403, airliner 404, airship 405, warplane 895, wing 908.
const PLANE_CLASSES = [403, 404, 405, 895, 908];
const SPIDER_WEB = 815;

let planes: { int8: Float32Array[]; float: Float32Array[] };
let webs: { int8: Float32Array[]; float: Float32Array[] };

before(async () => {
  if (skip) return;
  const floatPath = join(tempDir(), 'mobilenetv2-float-twin.onnx');
  writeFileSync(floatPath, floatTwin(new Uint8Array(readFileSync(model))));
  const card = await loadCardFile(join(import.meta.dirname, '..', '..', 'configs', 'cards', 'mobilenetv2-12-int8.json'), model);
  const logits = async (path: string, samples: Sample[]) => {
    const bb = await openOnnxBackbone(card, path);
    const f = (await extractFeatures(bb, samples, { batchSize: 8 })).features;
    await bb.dispose();
    assert.equal(f.cols, 1000);
    return Array.from({ length: f.rows }, (_, r) => f.data.subarray(r * 1000, (r + 1) * 1000));
  };
  const both = async (samples: Sample[]) => ({ int8: await logits(model, samples), float: await logits(floatPath, samples) });
  planes = await both(filesIn(join(shared, 'data', 'ucmerced', 'Images', 'airplane')).slice(0, 10));
  webs = await both(filesIn(join(shared, 'data', 'dtd', 'images', 'cobwebbed')));
});

test('the example card and the model weights classify real photos sensibly (float twin: the same on every CPU)', { skip }, () => {
  // Measured 9/10 and 11/12; one image of slack each, since the photos, not the CPU, set these margins.
  const planeHits = planes.float.filter((r) => top(r, 5).some((c) => PLANE_CLASSES.includes(c))).length;
  assert.ok(planeHits >= 8, `airplanes recognised in the top 5: ${planeHits}/10`);
  const webHits = webs.float.filter((r) => top(r, 1)[0] === SPIDER_WEB).length;
  assert.ok(webHits >= webs.float.length - 2, `spider webs first: ${webHits}/${webs.float.length}`);
});

test('the int8 model agrees with its float twin within what AVX2 and VNNI int8 kernels allow', { skip }, () => {
  const int8 = [...planes.int8, ...webs.int8];
  const float = [...planes.float, ...webs.float];
  // Cosine of the logits per image: measured min 0.970 with VNNI kernels, 0.844 with AVX2's saturating ones.
  const worst = Math.min(...int8.map((r, i) => cosine(r, float[i])));
  assert.ok(worst >= 0.8, `worst cosine to the float twin ${worst.toFixed(3)}`);
  // The int8 top class is among the twin's top 5: measured 22/22 (VNNI) and 21/22 (AVX2).
  const inTop5 = int8.filter((r, i) => top(float[i], 5).includes(top(r, 1)[0])).length;
  assert.ok(inTop5 >= 20, `int8 top-1 in the float top 5: ${inTop5}/22`);
  // Spider webs are the confident class: measured 11/12 (VNNI) and 12/12 (AVX2) first.
  const webHits = webs.int8.filter((r) => top(r, 1)[0] === SPIDER_WEB).length;
  assert.ok(webHits >= webs.int8.length - 2, `int8 spider webs first: ${webHits}/${webs.int8.length}`);
});
