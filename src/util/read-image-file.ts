import { readFile, stat } from 'node:fs/promises';

/** No image file reprobe reads is larger: a decompression-size budget for the bytes themselves. */
const MAX_IMAGE_BYTES = 1 << 30;

/**
 * An image file's bytes, from a regular file only: a link to /dev/zero, a FIFO or a socket would be read forever (or
 * block), so they are refused with the reason, as a corrupt image is, before any byte is read.
 */
export async function readImageFile(path: string): Promise<Buffer> {
  const st = await stat(path);
  if (!st.isFile()) throw Object.assign(new Error('not a regular file (a device, pipe or socket): not read'), { code: 'ENOTREG' });
  if (st.size > MAX_IMAGE_BYTES) throw Object.assign(new Error(`${st.size} bytes, more than an image file may have (${MAX_IMAGE_BYTES}): not read`), { code: 'EFBIG' });
  return readFile(path);
}
