import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { sha256File } from '../util/hash-file.ts';
import { reprobeHome } from '../util/paths.ts';
import { loadNsfwjsModel } from './keras/nsfwjs-files.ts';
import type { ResolvedBackbone } from './registry.ts';
import { isKerasCard } from './types.ts';

const memo = new Map<string, Promise<string>>();

/** sha256 of a file, streamed; kept in $REPROBE_HOME/digests by path, size, mtime, ctime and inode so a 1 GB model is hashed once. */
export async function fileDigest(path: string): Promise<string> {
  const st = statSync(path);
  const id = createHash('sha256').update(`${path}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}`).digest('hex').slice(0, 32);
  const note = join(reprobeHome(), 'digests', id);
  const known = (await readFile(note, 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f]{64}$/.test(known)) return known;
  const { digest } = await sha256File(path);
  await writeFileAtomic(note, digest).catch(() => undefined); // best effort: a read-only home hashes again next time
  return digest;
}

/**
 * The sha256 of the weights a backbone runs: its ONNX model file (hub or local), or for the embedded Keras models the
 * weight bytes bundled in the nsfwjs package (as loaded). Provenance for records: the same digest, the same weights.
 */
export function weightsDigest(r: ResolvedBackbone): Promise<string> {
  const key = isKerasCard(r.card) ? `nsfwjs:${r.card.source.model}` : (r.files?.image ?? r.card.id);
  let d = memo.get(key);
  if (!d) {
    const card = r.card;
    d = isKerasCard(card)
      ? Promise.resolve(createHash('sha256').update(new Uint8Array(loadNsfwjsModel(card.source.model).weightData)).digest('hex'))
      : fileDigest(r.files?.image ?? (card.source.kind === 'file' ? card.source.path : ''));
    memo.set(key, d);
  }
  return d;
}
