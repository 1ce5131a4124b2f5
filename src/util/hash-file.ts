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

/** The first 16 hex digits of the sha256 of a value's JSON: the ids of cells, configurations and run folders. */
export function jsonHash16(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
