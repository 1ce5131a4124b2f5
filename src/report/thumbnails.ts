import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readImageFile } from '../util/read-image-file.ts';
import { join } from 'node:path';
import { sharp } from '../util/sharp.ts';
import type { ImageSource } from '../data/types.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { MAX_INPUT_PIXELS, rasterMetadata } from '../util/raster.ts';


async function rasterBytes(path: string): Promise<Buffer> {
  const bytes = await readImageFile(path);
  await rasterMetadata(bytes, MAX_INPUT_PIXELS);
  return bytes;
}

/** A thumbnail's longest side in pixels, and its JPEG quality; both are in the cache key, so changing them makes new files. */
const SIDE = 128;
const QUALITY = 80;
const VERSION = `thumb-v1-${SIDE}-${QUALITY}`;

/** The image's bytes as they are (a file's, or raw pixels with their shape): what the thumbnail's name hashes. */
async function contentKey(source: ImageSource): Promise<string> {
  const h = createHash('sha256').update(VERSION);
  if (source.kind === 'file') h.update('file\0').update(await readImageFile(source.path));
  else h.update(`raw\0${source.width}x${source.height}x${source.channels}\0`).update(source.data);
  return h.digest('hex').slice(0, 32);
}

/**
 * The image's thumbnail in `dir` (`<sha256 of its content>.jpg`, at most SIDE pixels on a side): made with sharp the first
 * time, and found by name every time after, also for the same picture under another path or in another dataset. Returns
 * the file name; throws what sharp says about an image it cannot decode.
 */
export async function thumbnail(source: ImageSource, dir: string): Promise<string> {
  const name = `${await contentKey(source)}.jpg`;
  const path = join(dir, name);
  if (existsSync(path)) return name;
  // Only rasters are decoded (an SVG named .jpg would be rendered): what cannot be is a note, as a corrupt image is.
  const img = source.kind === 'file' ? sharp(await rasterBytes(source.path)) : sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels } });
  const jpeg = await img.rotate().resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: false }).flatten({ background: '#ffffff' }).jpeg({ quality: QUALITY }).toBuffer();
  await writeFileAtomic(path, jpeg);
  return name;
}
