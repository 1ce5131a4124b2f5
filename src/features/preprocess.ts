import { sharp } from '../util/sharp.ts';
import { MAX_INPUT_PIXELS, rasterMetadata } from '../util/raster.ts';
import type { ImageSource } from '../data/types.ts';
import { jpegHeader } from './jpeg-header.ts';
import { readImageFile } from '../util/read-image-file.ts';
import type { Card, Interpolation, Preprocess } from '../backbones/types.ts';

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

/**
 * Resize and crop boxes for an image of `width` x `height`, exactly as torchvision's Resize(int) + CenterCrop compute
 * them (transformers' processors size the resize the same way and floor the crop offset: `cropOffset: 'floor'`).
 */
export function geometry(width: number, height: number, pre: Preprocess, out: { width: number; height: number }): Geometry {
  if (pre.resize === 'stretch') return { resized: { ...out }, crop: { left: 0, top: 0, ...out } };
  const s = pre.resizeTo ?? Math.min(out.width, out.height);
  const resized = width <= height ? { width: s, height: Math.floor((s * height) / width) } : { width: Math.floor((s * width) / height), height: s };
  // An image smaller than the crop after resizing cannot happen for cards with resizeTo >= crop size.
  const cw = Math.min(out.width, resized.width);
  const ch = Math.min(out.height, resized.height);
  const offset = pre.cropOffset === 'floor' ? Math.floor : roundHalfEven;
  return { resized, crop: { left: offset((resized.width - cw) / 2), top: offset((resized.height - ch) / 2), width: cw, height: ch } };
}

/**
 * Pixel budgets of the one decode path (extract, probe, finetune, explain and models verify all read images here): a
 * file of a few hundred bytes can declare 20000x2 pixels, which a shorter-side card resizes to 2,560,000x256 (GBs of
 * memory, then a crash). An image past either budget is a bad image: it throws like a corrupt one, and the callers
 * skip and list it. The input budget (about 10000x10000) is above any photo or satellite tile of the study's sets;
 * the resized one (2^24, 4096x4096) passes aspect ratios up to 256:1 at a 256-pixel shorter side.
 */
const MAX_RESIZED_PIXELS = 2 ** 24;

/** Throws when an image of `size` would pass a budget, before its pixels are decoded or resized. */
function checkBudget(size: { width: number; height: number }, resized: { width: number; height: number }): void {
  if (!(size.width >= 1 && size.height >= 1)) throw new Error(`image declares ${size.width}x${size.height} pixels`);
  if (size.width * size.height > MAX_INPUT_PIXELS) throw new Error(`image is ${size.width}x${size.height} pixels, over the budget of ${MAX_INPUT_PIXELS / 1e6}M pixels to decode`);
  if (resized.width * resized.height > MAX_RESIZED_PIXELS)
    throw new Error(`image is ${size.width}x${size.height} pixels: resized for the card it would be ${resized.width}x${resized.height}, over the budget of ${MAX_RESIZED_PIXELS} pixels (an extreme aspect ratio)`);
}

/**
 * Decode (EXIF-oriented; gray, CMYK, alpha and 16-bit → 8-bit sRGB), resize + crop per card → [h, w, 3] uint8 RGB.
 * Throws on unreadable images and on images past the pixel budgets (above).
 */
export async function decodeForCard(source: ImageSource, card: Card): Promise<Uint8Array> {
  const { height, width } = card.input;
  let img: Sharp;
  let size: { width: number; height: number };
  if (source.kind === 'raw') {
    img = sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels } });
    size = { width: source.width, height: source.height };
  } else {
    // One read of the file: the header and the pixels both come from this buffer.
    const bytes = await readImageFile(source.path);
    // A JPEG's header is read in JavaScript (its magic bytes say it is one); anything else must be a raster format.
    const meta = jpegHeader(bytes) ?? (await rasterMetadata(bytes, MAX_INPUT_PIXELS));
    // EXIF orientations 5-8 swap width and height once applied.
    size = (meta.orientation ?? 1) >= 5 ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! };
    // Before any pixel is decoded: the header's size against both budgets (sharp's own limit backs up the first).
    checkBudget(size, geometry(size.width, size.height, card.preprocess, { width, height }).resized);
    img = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate();
    if ('hasAlpha' in meta && meta.hasAlpha) {
      // sharp's resize weighs colours by alpha; PIL's convert('RGB') drops alpha first. Drop it first here too.
      const flat = await rawOf(img.removeAlpha().toColourspace('srgb'));
      img = sharp(flat.data, { raw: rawInfo(flat) });
    }
  }
  const g = geometry(size.width, size.height, card.preprocess, { width, height });
  checkBudget(size, g.resized);
  const grows = g.resized.width > size.width || g.resized.height > size.height;
  const shrinks = g.resized.width < size.width || g.resized.height < size.height;
  if (grows) {
    // Edge copies: in JS for raw pixels (saves a pipeline), in sharp (with the colour conversion) for files.
    const ext =
      source.kind === 'raw'
        ? extendEdges({ data: source.data, width: source.width, height: source.height, channels: source.channels })
        : await rawOf(img.removeAlpha().toColourspace('srgb').extend({ top: EDGE, bottom: EDGE, left: EDGE, right: EDGE, extendWith: 'copy' }));
    const up = await enlarge(ext, size, g.resized, card.preprocess.interpolation);
    if (!shrinks) return toRgb(cropRaw(up, g.crop));
    img = sharp(up.data, { raw: rawInfo(up) });
  } else {
    // CMYK (through its ICC profile), gray and 16-bit become 8-bit sRGB.
    img = img.removeAlpha().toColourspace('srgb');
  }
  img = img.resize(g.resized.width, g.resized.height, { fit: 'fill', kernel: KERNELS[card.preprocess.interpolation], fastShrinkOnLoad: false });
  if (card.preprocess.resize === 'shorter') img = img.extract(g.crop);
  const out = await rawOf(img);
  if (out.width !== width || out.height !== height) throw new Error(`image is ${out.width}x${out.height} after preprocessing, expected ${width}x${height}`);
  return toRgb(out);
}

interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

const INTERPOLATORS = { bilinear: 'bilinear', bicubic: 'bicubic', nearest: 'nearest' } as const;
const EDGE = 2; // pixels of edge copies, the support of the bicubic filter

async function rawOf(img: Sharp): Promise<RawImage> {
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

const rawInfo = (i: { width: number; height: number; channels: number }) => ({ width: i.width, height: i.height, channels: i.channels as 1 | 2 | 3 | 4 });

/** EDGE copies of the border pixels around an image. */
function extendEdges(img: RawImage): RawImage {
  const { width: w, height: h, channels: c } = img;
  const W = w + 2 * EDGE;
  const H = h + 2 * EDGE;
  const out = new Uint8Array(W * H * c);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.max(0, y - EDGE));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(w - 1, Math.max(0, x - EDGE));
      for (let k = 0; k < c; k++) out[(y * W + x) * c + k] = img.data[(sy * w + sx) * c + k];
    }
  }
  return { data: out, width: W, height: H, channels: c };
}

/**
 * Upsample the axes that grow (of an image with EDGE copies around it) with pixel centres aligned as PIL does:
 * sharp's resize() samples enlargements half a pixel off PIL/torchvision (12/255 mean difference on an upscaled
 * digit; this path: 0.3/255). The edge copies make border pixels interpolate against themselves, not black.
 */
async function enlarge(ext: RawImage, from: { width: number; height: number }, to: { width: number; height: number }, interp: Interpolation): Promise<RawImage> {
  if (interp === 'nearest') return enlargeNearest(ext, from, to);
  const sx = Math.max(1, to.width / from.width);
  const sy = Math.max(1, to.height / from.height);
  const up = await rawOf(
    sharp(ext.data, { raw: rawInfo(ext) }).affine([sx, 0, 0, sy], { interpolator: INTERPOLATORS[interp], idx: -EDGE, idy: -EDGE, odx: 0.5 * (sx - 1), ody: 0.5 * (sy - 1) }),
  );
  return cropRaw(up, { left: 0, top: 0, width: sx > 1 ? to.width : from.width, height: sy > 1 ? to.height : from.height });
}

/**
 * Nearest-neighbour enlargement as PIL computes it (transformers' NEAREST processors use PIL), by hand: libvips' nearest
 * affine picks the neighbour half a pixel off. PIL accumulates the source position x·in/out + in/2out by repeated
 * addition in doubles and truncates; the same sums here give the same pixels (tested on 256 → 260 and → 528).
 */
function nearestIndex(n: number, m: number): Int32Array {
  const idx = new Int32Array(Math.max(n, m));
  if (m <= n) return idx.map((_, x) => x);
  const step = n / m;
  let at = 0.5 * step;
  for (let x = 0; x < m; x++, at += step) idx[x] = Math.trunc(at);
  return idx;
}

function enlargeNearest(ext: RawImage, from: { width: number; height: number }, to: { width: number; height: number }): RawImage {
  const c = ext.channels;
  const xs = nearestIndex(from.width, to.width);
  const ys = nearestIndex(from.height, to.height);
  const out = new Uint8Array(xs.length * ys.length * c);
  for (let y = 0; y < ys.length; y++)
    for (let x = 0; x < xs.length; x++) {
      const o = ((EDGE + ys[y]) * ext.width + EDGE + xs[x]) * c;
      for (let k = 0; k < c; k++) out[(y * xs.length + x) * c + k] = ext.data[o + k];
    }
  return { data: out, width: xs.length, height: ys.length, channels: c };
}

function cropRaw(img: RawImage, box: { left: number; top: number; width: number; height: number }): RawImage {
  if (box.left === 0 && box.top === 0 && box.width === img.width && box.height === img.height) return img;
  const c = img.channels;
  const out = new Uint8Array(box.width * box.height * c);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * img.width + box.left) * c;
    out.set(img.data.subarray(from, from + box.width * c), y * box.width * c);
  }
  return { data: out, width: box.width, height: box.height, channels: c };
}

/** [h, w, c] → [h, w, 3]: gray repeats its channel. */
function toRgb(img: RawImage): Uint8Array {
  if (img.channels === 3) return img.data;
  const px = img.width * img.height;
  const rgb = new Uint8Array(px * 3);
  for (let p = 0; p < px; p++) rgb.fill(img.data[p * img.channels], p * 3, p * 3 + 3);
  return rgb;
}

/** n decoded [h, w, 3] images → one float32 batch in the card's layout with (x * scale - mean) / std. */
export function packBatch(images: readonly Uint8Array[], card: Card): Float32Array {
  const per = card.input.height * card.input.width * 3;
  const out = new Float32Array(images.length * per);
  const pack = imagePacker(card);
  images.forEach((img, i) => pack(img, out, i * per));
  return out;
}

/** A function that writes one decoded [h, w, 3] image into a batch at `offset`, in the card's layout, normalized. */
export function imagePacker(card: Card): (img: Uint8Array, out: Float32Array, offset: number) => void {
  const { scale, mean, std } = card.preprocess;
  const px = card.input.height * card.input.width;
  // One table lookup per value instead of a multiply-add: 256 levels x 3 channels.
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v * scale - mean[c]) / std[c];
  if (card.input.layout === 'NCHW') {
    return (img, out, o) => {
      for (let p = 0, q = 0; p < px; p++, q += 3) {
        out[o + p] = lut[img[q]];
        out[o + px + p] = lut[256 + img[q + 1]];
        out[o + 2 * px + p] = lut[512 + img[q + 2]];
      }
    };
  }
  return (img, out, o) => {
    for (let q = 0; q < px * 3; q += 3) {
      out[o + q] = lut[img[q]];
      out[o + q + 1] = lut[256 + img[q + 1]];
      out[o + q + 2] = lut[512 + img[q + 2]];
    }
  };
}
