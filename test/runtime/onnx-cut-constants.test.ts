/**
 * A cut's suffix reads shape arithmetic from before the cut (onnx-model.ts computes it once, on blank images): a value
 * that depends on the batch size cannot be such a constant and is refused in one line.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { OnnxCardSchema } from '../../src/backbones/card-schema.ts';
import { cutBoundary } from '../../src/runtime/onnx-blocks.ts';
import { onnxTrainModel } from '../../src/finetune/onnx-model.ts';
import { OnnxGraph } from '../../src/runtime/onnx-graph.ts';

/** x [n, 3, 2, 2] → y = relu(x) (the cut) → reshaped by a target made from Shape(x) before the cut: [n, -1] or [3, -1]. */
function model(batchInShape: boolean): Uint8Array {
  const g = new OnnxGraph();
  const s = g.node('Shape', ['x']);
  const part = batchInShape ? g.node('Slice', [s, g.int64('a', [0]), g.int64('b', [1])]) : g.node('Slice', [s, g.int64('a', [1]), g.int64('b', [2])]);
  g.node('Concat', [part, g.int64('rest', [-1])], { axis: 0 }, 'target');
  g.node('Relu', ['x'], {}, 'cut');
  g.node('Reshape', ['cut', 'target'], {}, 'out');
  return g.encodeModel({ name: 'cut_shapes', inputs: [{ name: 'x', dims: ['n', 3, 2, 2] }], outputs: [{ name: 'out', dims: ['n', 'd'] }] });
}

const card = OnnxCardSchema.parse({ id: 'cut-shapes', source: { kind: 'file', path: 'x.onnx' }, input: { name: 'x', height: 2, width: 2 }, output: { name: 'out', pooling: 'none' } });

test('shape arithmetic on the image size crosses a cut as a constant; a batch-dependent one is refused', () => {
  assert.deepEqual(cutBoundary(model(false), 'cut'), ['target']);
  const ok = onnxTrainModel(model(false), card, { featureDim: 12, numClasses: 2, seed: 0, trainBackbone: true, from: { tensor: 'cut', shape: [3, 2, 2] } });
  ok.dispose();
  assert.throws(
    () => onnxTrainModel(model(true), card, { featureDim: 12, numClasses: 2, seed: 0, trainBackbone: true, from: { tensor: 'cut', shape: [3, 2, 2] } }),
    (err: Error) => /^The part after "cut" reads "target" from before it, which is not shape arithmetic on the image size; cut elsewhere\.$/.test(err.message),
  );
});
