import type { Metadata } from 'sharp';
import { sharp } from './sharp.ts';

/**
 * The image formats reprobe decodes: rasters. libvips picks its loader by content, not by the file's name, so an SVG
 * (or a PDF) named `.jpg` would be rendered: a vector renderer run on a dataset's files, and an image the dataset's
 * author never saw as pixels. Anything else is a bad image, skipped and listed like a corrupt one.
 */
const RASTER_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'jp2', 'ppm']);

/**
 * The most pixels an image file may declare before anything decodes it (about 10000x10000, above any photo or satellite
 * tile of the study's sets): a file of a few hundred bytes can declare billions. One budget for every reader.
 */
export const MAX_INPUT_PIXELS = 100_000_000;

/** An image file's header (sharp's metadata), refused with the format's name when it is not a raster format. */
export async function rasterMetadata(bytes: Buffer, limitInputPixels: number): Promise<Metadata> {
  const meta = await sharp(bytes, { failOn: 'error', limitInputPixels }).metadata();
  if (!RASTER_FORMATS.has(meta.format ?? '')) {
    throw Object.assign(new Error(`a ${String(meta.format ?? 'unknown')} file, not a raster image (reprobe reads ${[...RASTER_FORMATS].join(', ')}): not decoded`), { code: 'ENOTRASTER' });
  }
  return meta;
}
