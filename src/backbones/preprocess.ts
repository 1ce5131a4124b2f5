import sharp from 'sharp';
import type { ImageSource } from '../data/types.ts';
import type { Card, Interpolation, Preprocess } from './types.ts';

type Sharp = ReturnType<typeof sharp>;

const KERNELS = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' } as const;

export interface Geometry {
  /** Size after the resize. */
  resized: { width: number; height: number };
  /** Crop window in the resized image (the whole image for `stretch`). */
  crop: { left: number; top: number; width: number; height: number };
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop uses it). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

/** Resize and crop boxes for an image of `width` x `height`, exactly as torchvision's Resize(int) + CenterCrop compute them. */
export function geometry(width: number, height: number, pre: Preprocess, out: { width: number; height: number }): Geometry {
  if (pre.resize === 'stretch') return { resized: { ...out }, crop: { left: 0, top: 0, ...out } };
  const s = pre.resizeTo ?? Math.min(out.width, out.height);
  const resized = width <= height ? { width: s, height: Math.floor((s * height) / width) } : { width: Math.floor((s * width) / height), height: s };
  // An image smaller than the crop after resizing cannot happen for cards with resizeTo >= crop size.
  const cw = Math.min(out.width, resized.width);
  const ch = Math.min(out.height, resized.height);
  return { resized, crop: { left: roundHalfEven((resized.width - cw) / 2), top: roundHalfEven((resized.height - ch) / 2), width: cw, height: ch } };
}

/**
 * Decode (EXIF-oriented; gray, CMYK, alpha and 16-bit → 8-bit sRGB), resize + crop per card → [h, w, 3] uint8 RGB.
 * Throws on unreadable images.
 */
export async function decodeForCard(source: ImageSource, card: Card): Promise<Uint8Array> {
  const { height, width } = card.input;
  let img: Sharp;
  let size: { width: number; height: number };
  if (source.kind === 'raw') {
    img = sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels } });
    size = { width: source.width, height: source.height };
  } else {
    const meta = await sharp(source.path, { failOn: 'error' }).metadata(); // header only
    // EXIF orientations 5-8 swap width and height once applied.
    size = (meta.orientation ?? 1) >= 5 ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! };
    img = sharp(source.path, { failOn: 'error' }).rotate();
    if (meta.hasAlpha) {
      // sharp's resize weighs colours by alpha; PIL's convert('RGB') drops alpha first. Drop it first here too.
      const flat = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      img = sharp(flat.data, { raw: rawInfo(flat.info) });
    }
  }
  const g = geometry(size.width, size.height, card.preprocess, { width, height });
  // CMYK (through its ICC profile), gray and 16-bit become 8-bit sRGB.
  img = img.removeAlpha().toColourspace('srgb');
  if (g.resized.width > size.width || g.resized.height > size.height) img = await enlarge(img, size, g.resized, card.preprocess.interpolation);
  img = img.resize(g.resized.width, g.resized.height, { fit: 'fill', kernel: KERNELS[card.preprocess.interpolation], fastShrinkOnLoad: false });
  if (card.preprocess.resize === 'shorter') img = img.extract(g.crop);
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) throw new Error(`image is ${info.width}x${info.height} after preprocessing, expected ${width}x${height}`);
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Gray images can come back single-channel: repeat the first channel.
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) rgb.fill(data[p * info.channels], p * 3, p * 3 + 3);
  return rgb;
}

const INTERPOLATORS = { bilinear: 'bilinear', bicubic: 'bicubic', nearest: 'nearest' } as const;
const EDGE = 2; // pixels of edge copies, the support of the bicubic filter

/**
 * Upsample the axes that grow with pixel centres aligned as PIL does: sharp's resize() samples enlargements
 * half a pixel off PIL/torchvision (12/255 mean difference on an upscaled digit; this path: 0.3/255). Edges are
 * replicated first so border pixels interpolate against themselves, not against black.
 */
async function enlarge(img: Sharp, from: { width: number; height: number }, to: { width: number; height: number }, interp: Interpolation): Promise<Sharp> {
  const sx = Math.max(1, to.width / from.width);
  const sy = Math.max(1, to.height / from.height);
  const ext = await img.extend({ top: EDGE, bottom: EDGE, left: EDGE, right: EDGE, extendWith: 'copy' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const up = await sharp(ext.data, { raw: rawInfo(ext.info) })
    .affine([sx, 0, 0, sy], { interpolator: INTERPOLATORS[interp], idx: -EDGE, idy: -EDGE, odx: 0.5 * (sx - 1), ody: 0.5 * (sy - 1) })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const keep = { left: 0, top: 0, width: sx > 1 ? to.width : from.width, height: sy > 1 ? to.height : from.height };
  return sharp(up.data, { raw: rawInfo(up.info) }).extract(keep);
}

const rawInfo = (i: { width: number; height: number; channels: number }) => ({ width: i.width, height: i.height, channels: i.channels as 1 | 2 | 3 | 4 });

/** n decoded [h, w, 3] images → one float32 batch in the card's layout with (x * scale - mean) / std. */
export function packBatch(images: readonly Uint8Array[], card: Card): Float32Array {
  const { scale, mean, std } = card.preprocess;
  const px = card.input.height * card.input.width;
  const out = new Float32Array(images.length * px * 3);
  const mul = std.map((s) => scale / s);
  const add = mean.map((m, c) => -m / std[c]);
  const nchw = card.input.layout === 'NCHW';
  images.forEach((img, i) => {
    const o = i * px * 3;
    if (nchw) {
      for (let c = 0; c < 3; c++) {
        const plane = o + c * px;
        for (let p = 0; p < px; p++) out[plane + p] = img[p * 3 + c] * mul[c] + add[c];
      }
    } else {
      for (let p = 0; p < px * 3; p += 3) {
        out[o + p] = img[p] * mul[0] + add[0];
        out[o + p + 1] = img[p + 1] * mul[1] + add[1];
        out[o + p + 2] = img[p + 2] * mul[2] + add[2];
      }
    }
  });
  return out;
}
