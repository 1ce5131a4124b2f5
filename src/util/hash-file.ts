import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A file's sha256 (hex) and size, streamed: models and feature matrices can be larger than memory wants. */
export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: h.digest('hex'), size };
}
