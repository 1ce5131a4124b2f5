import sharp from 'sharp';
import type { ImageSource } from '../data/types.ts';
import type { Card } from './types.ts';

const KERNELS = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' } as const;

/** Decode (EXIF-oriented, any colour space → sRGB), resize per card → [h, w, 3] uint8 RGB. Throws on unreadable images. */
export async function decodeForCard(source: ImageSource, card: Card): Promise<Uint8Array> {
  const { height, width } = card.input;
  const img =
    source.kind === 'file'
      ? sharp(source.path, { failOn: 'error' }).rotate()
      : sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels } });
  const { data, info } = await img
    .removeAlpha()
    .toColourspace('srgb')
    .resize(width, height, { fit: 'fill', kernel: KERNELS[card.preprocess.interpolation] })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Gray images can come back single-channel: repeat the first channel.
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) rgb.fill(data[p * info.channels], p * 3, p * 3 + 3);
  return rgb;
}

/** n decoded images → one float32 batch [n, h, w, 3] with (x * scale - mean) / std. */
export function packBatch(images: readonly Uint8Array[], card: Card): Float32Array {
  const { scale, mean, std } = card.preprocess;
  const px = card.input.height * card.input.width;
  const out = new Float32Array(images.length * px * 3);
  const mul = std.map((s) => scale / s);
  const add = mean.map((m, c) => -m / std[c]);
  images.forEach((img, i) => {
    const o = i * px * 3;
    for (let p = 0; p < px * 3; p += 3) {
      out[o + p] = img[p] * mul[0] + add[0];
      out[o + p + 1] = img[p + 1] * mul[1] + add[1];
      out[o + p + 2] = img[p + 2] * mul[2] + add[2];
    }
  });
  return out;
}
