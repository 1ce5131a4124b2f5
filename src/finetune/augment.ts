import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.ts';

/**
 * torchvision's RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3, 10 tries, then the centre crop) and a horizontal flip
 * with probability 1/2, on a batch of preprocessed NHWC images, resized back to their size by bilinear interpolation.
 * The crop is taken from the preprocessed image (not the original file): the same family of views, one resize fewer.
 */
function randomResizedCropFlip(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const boxes: number[][] = [];
  for (let i = 0; i < n; i++) {
    const [top, left, ch, cw] = cropBox(h, w, rng);
    const [y1, x1, y2, x2] = [top / (h - 1), left / (w - 1), (top + ch - 1) / (h - 1), (left + cw - 1) / (w - 1)];
    // A box whose x1 > x2 samples the crop mirrored.
    boxes.push(rng() < 0.5 ? [y1, x2, y2, x1] : [y1, x1, y2, x2]);
  }
  return tf.tidy(() => tf.image.cropAndResize(x, tf.tensor2d(boxes), tf.range(0, n, 1, 'int32'), [h, w], 'bilinear'));
}

function cropBox(h: number, w: number, rng: Rng): [number, number, number, number] {
  const area = h * w;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (0.08 + rng() * 0.92);
    const ratio = Math.exp(Math.log(3 / 4) + rng() * (Math.log(4 / 3) - Math.log(3 / 4)));
    const cw = Math.round(Math.sqrt(target * ratio));
    const ch = Math.round(Math.sqrt(target / ratio));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) return [Math.floor(rng() * (h - ch + 1)), Math.floor(rng() * (w - cw + 1)), ch, cw];
  }
  // torchvision's fallback: the largest centre crop whose ratio is within bounds.
  const r = w / h;
  const [ch, cw] = r < 3 / 4 ? [Math.round(w / (3 / 4)), w] : r > 4 / 3 ? [h, Math.round(h * (4 / 3))] : [h, w];
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/** Augmentation of a training batch in a card's layout. */
export function augmenter(layout: 'NCHW' | 'NHWC'): (x: tf.Tensor, rng: Rng) => tf.Tensor {
  if (layout === 'NHWC') return (x, rng) => randomResizedCropFlip(x as tf.Tensor4D, rng);
  return (x, rng) => randomResizedCropFlip(x.transpose([0, 2, 3, 1]) as tf.Tensor4D, rng).transpose([0, 3, 1, 2]);
}
