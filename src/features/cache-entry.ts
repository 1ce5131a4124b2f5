import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import type { Sample } from '../data/types.ts';
import { firstLine } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import { npyDataOffset, npyHeader, readNpy } from '../util/npy.ts';
import { sha256File } from '../util/hash-file.ts';
import type { Skipped } from './extract.ts';

const SkippedSchema = z.array(z.object({ id: z.string(), reason: z.string() }));

/** What a cached matrix is: its JSON sidecar next to `<key>.npy`, written last (its presence marks the entry finished). */
export const SidecarSchema = z.object({
  key: z.string(),
  backbone: z.string(),
  layer: z.string(),
  runtime: z.string(),
  weights: z.string(),
  card: z.unknown(),
  dataset: z.string(),
  /** Ids of the rows, in request order; the requested images that are not here are in `skipped`. */
  ids: z.array(z.string()),
  labels: z.array(z.number()),
  classes: z.array(z.string()),
  skipped: SkippedSchema,
  rows: z.number().int().min(0),
  cols: z.number().int().min(0),
  /** sha256 of the whole .npy file, taken when it was written. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  seconds: z.number(),
  imagesPerSecond: z.number(),
  versions: z.object({ node: z.string(), sharp: z.string() }),
  created: z.string(),
});
export type Sidecar = z.infer<typeof SidecarSchema>;

/** A chunk's sidecar: which images of its slice are rows (positions in the slice) and which were skipped. */
const ChunkSchema = z.object({
  kept: z.array(z.number().int().min(0)),
  skipped: SkippedSchema,
  rows: z.number().int().min(0),
  sha256: z.string(),
  /** Seconds its extraction took (absent in chunks written before it was recorded). */
  seconds: z.number().min(0).optional(),
});

/** Thrown when an entry or chunk fails a check: the caller extracts again. */
export class InvalidEntry extends Error {}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Size of a float32 [rows, cols] .npy as written here. */
export const npySize = (rows: number, cols: number) => npyHeader([rows, cols]).length + rows * cols * 4;

/**
 * The rows of `side` matched to the request: `side.ids` must be the requested ids in order, less exactly the
 * skipped ones. Returns, per row, the position of its image in `samples`.
 */
function matchRequest(ids: readonly string[], skipped: readonly Skipped[], samples: readonly { id: string }[]): number[] {
  const skippedIds = new Set(skipped.map((s) => s.id));
  const kept: number[] = [];
  let row = 0;
  samples.forEach((s, i) => {
    if (row < ids.length && ids[row] === s.id) {
      kept.push(i);
      row++;
    } else if (!skippedIds.has(s.id)) throw new InvalidEntry(`image ${s.id} is neither a row nor listed as skipped`);
  });
  if (row !== ids.length) throw new InvalidEntry(`its ids (${ids.length}) are not the requested images in order`);
  if (kept.length + skippedIds.size !== samples.length) throw new InvalidEntry('its skipped list names images that were not requested');
  return kept;
}

/** A finished entry checked against the request and its checksum; `keep` false streams the check and leaves the matrix on disk. */
export async function readEntry(npyPath: string, sidePath: string, key: string, samples: readonly Sample[], keep: boolean): Promise<{ features: Matrix; kept: number[]; side: Sidecar }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(sidePath, 'utf8'));
  } catch (err) {
    throw new InvalidEntry(`its sidecar cannot be read (${firstLine(err)})`);
  }
  const parsed = SidecarSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidEntry(`its sidecar is malformed at "${parsed.error.issues[0].path.join('.')}"`);
  const side = parsed.data;
  if (side.key !== key) throw new InvalidEntry(`its sidecar belongs to key ${side.key}`);
  if (side.ids.length !== side.rows) throw new InvalidEntry(`its sidecar lists ${side.ids.length} ids for ${side.rows} rows`);
  const kept = matchRequest(side.ids, side.skipped, samples);
  const check = (size: number, digest: string) => {
    if (size !== npySize(side.rows, side.cols)) throw new InvalidEntry(`the matrix file has ${size} bytes, a ${side.rows}x${side.cols} matrix needs ${npySize(side.rows, side.cols)}`);
    if (digest !== side.sha256) throw new InvalidEntry('the matrix file does not match its checksum');
  };
  if (!keep) {
    const { size, digest } = await hashFile(npyPath);
    check(size, digest);
    return { features: matrix(0, side.cols), kept, side };
  }
  const buf = new Uint8Array(await readFile(npyPath).catch((err) => Promise.reject(new InvalidEntry(`the matrix file cannot be read (${firstLine(err)})`))));
  check(buf.length, sha256(buf));
  const arr = readNpy(buf);
  if (arr.shape[0] !== side.rows || (arr.shape[1] ?? 0) !== side.cols) throw new InvalidEntry(`the matrix is [${arr.shape}], its sidecar says ${side.rows}x${side.cols}`);
  return { features: matrix(side.rows, side.cols, arr.data), kept, side };
}

async function hashFile(path: string): Promise<{ size: number; digest: string }> {
  try {
    return await sha256File(path);
  } catch (err) {
    throw new InvalidEntry(`the matrix file cannot be read (${firstLine(err)})`);
  }
}

/** The .npy and sidecar of one chunk, with the checksum the sidecar carries. */
export function chunkFiles(features: Matrix, kept: number[], skipped: Skipped[], seconds: number): { npy: Uint8Array; json: string; sha256: string } {
  const npy = new Uint8Array(npySize(features.rows, features.cols));
  npy.set(npyHeader([features.rows, features.cols]));
  npy.set(new Uint8Array(features.data.buffer, features.data.byteOffset, features.data.byteLength), npy.length - features.data.byteLength);
  const digest = sha256(npy);
  return { npy, json: JSON.stringify({ kept, skipped, rows: features.rows, sha256: digest, seconds }), sha256: digest };
}

/** A whole chunk of `slice`, or undefined when absent or failing a check (then it is extracted again). */
export async function readChunk(name: string, slice: readonly Sample[]): Promise<{ features: Matrix; kept: number[]; skipped: Skipped[]; sha256: string; seconds?: number } | undefined> {
  // The sidecar is renamed into place after the npy: with it present, the chunk was written whole.
  if (!existsSync(`${name}.json`) || !existsSync(`${name}.npy`)) return undefined;
  try {
    const meta = ChunkSchema.parse(JSON.parse(await readFile(`${name}.json`, 'utf8')));
    const buf = new Uint8Array(await readFile(`${name}.npy`));
    if (sha256(buf) !== meta.sha256) return undefined;
    const arr = readNpy(buf);
    const rows = arr.shape[0] ?? 0;
    const ascending = meta.kept.every((k, i) => k < slice.length && (i === 0 || k > meta.kept[i - 1]));
    if (rows !== meta.rows || meta.kept.length !== rows || !ascending) return undefined;
    matchRequest(meta.kept.map((k) => slice[k].id), meta.skipped, slice);
    return { features: matrix(rows, arr.shape[1] ?? 0, arr.data), kept: meta.kept, skipped: meta.skipped, sha256: meta.sha256, seconds: meta.seconds };
  } catch {
    return undefined;
  }
}

/**
 * Chunk .npy files → one .npy, streamed a chunk at a time into a flushed temp file; returns the sha256 of what was
 * written. Each chunk is checked against the checksum it was read with: a chunk another run replaced meanwhile fails.
 */
export async function joinChunks(files: readonly { path: string; sha256: string }[], shape: [number, number], tmp: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(tmp, 'w');
  try {
    const head = npyHeader(shape);
    await fh.write(head);
    h.update(head);
    for (const f of files) {
      const buf = new Uint8Array(await readFile(f.path));
      if (sha256(buf) !== f.sha256) throw new InvalidEntry(`chunk ${f.path} changed while joining`);
      const data = buf.subarray(npyDataOffset(buf));
      await fh.write(data);
      h.update(data);
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return h.digest('hex');
}
