import { sharp } from '../util/sharp.ts';
import { jet, upsample } from './maps.ts';
import type { ExplainMap } from './types.ts';

/** An 8-bit RGB image, row-major [height, width, 3]. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Width of the colour bar strip added to the right of every overlay. */
export const BAR_WIDTH = 44;
/** Share of the colour map in each blended pixel. */
const ALPHA = 0.5;

/** [h, w, 3] image and a map of any grid → the image with the map upsampled onto it in jet colours, blended half and half. */
export function blend(image: RgbImage, map: ExplainMap, alpha = ALPHA): Uint8Array {
  const up = upsample(map, image.height, image.width);
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < up.values.length; i++) {
    const rgb = jet(up.values[i]);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((1 - alpha) * image.data[i * 3 + c] + alpha * rgb[c]);
  }
  return out;
}

/** The colour bar beside an image of this height: a jet gradient from 1 (top) to 0 (bottom), labelled, as SVG. */
function barSvg(height: number): string {
  const pad = Math.min(10, Math.floor(height / 8));
  const stops = Array.from({ length: 11 }, (_, i) => {
    const [r, g, b] = jet(1 - i / 10);
    return `<stop offset="${i * 10}%" stop-color="rgb(${r},${g},${b})"/>`;
  }).join('');
  const font = Math.max(8, Math.min(12, Math.floor(height / 10)));
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${BAR_WIDTH}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>` +
    `<rect width="${BAR_WIDTH}" height="${height}" fill="white"/>` +
    `<rect x="6" y="${pad}" width="12" height="${height - 2 * pad}" fill="url(#g)" stroke="#444" stroke-width="0.5"/>` +
    `<text x="22" y="${pad + font - 1}" font-family="sans-serif" font-size="${font}" fill="#222">1</text>` +
    `<text x="22" y="${height - pad}" font-family="sans-serif" font-size="${font}" fill="#222">0</text>` +
    `</svg>`
  );
}

/** The overlay as a PNG: the blended image, with the colour bar (0 and 1 labelled) to its right; (width + BAR_WIDTH) x height. */
export async function overlayPng(image: RgbImage, map: ExplainMap): Promise<Buffer> {
  const { width, height } = image;
  const blended = await sharp(blend(image, map), { raw: { width, height, channels: 3 } }).png().toBuffer();
  return sharp({ create: { width: width + BAR_WIDTH, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([
      { input: blended, left: 0, top: 0 },
      { input: Buffer.from(barSvg(height)), left: width, top: 0 },
    ])
    .png({ compressionLevel: 9 })
    .toBuffer();
}
