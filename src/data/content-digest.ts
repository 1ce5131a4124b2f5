import { createHash } from 'node:crypto';
import { readImageFile } from '../util/read-image-file.ts';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { reprobeHome } from '../util/paths.ts';
import type { Dataset, Sample } from './types.ts';

/**
 * Content digests of image files (sha256 of the bytes), so that what a cache entry or a cell id names is the content,
 * not the path or the text typed. Hashing reads every byte once; the digest is then kept per folder in
 * $REPROBE_HOME/digests/, keyed by the file's size, mtime, ctime and inode. A file replaced in place with its size and
 * mtime restored still gets a new ctime (no user call sets it), so it is hashed again, never served stale.
 */

/** Files read at once while hashing: enough to hide latency, few enough not to exhaust file handles. */
const CONCURRENCY = 32;

type Entry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, sha256: string];
interface FolderDigests {
  dir: string;
  files: Record<string, Entry>;
}

const digestsDir = () => join(reprobeHome(), 'digests');
const folderFile = (dir: string) => join(digestsDir(), `${createHash('sha256').update(dir).digest('hex').slice(0, 24)}.json`);

/** The stored digests of one folder ({} when none or unreadable: they are computed again). */
async function readFolder(dir: string): Promise<FolderDigests> {
  try {
    const doc = JSON.parse(await readFile(folderFile(dir), 'utf8')) as FolderDigests;
    if (doc.dir === dir && doc.files && typeof doc.files === 'object') return doc;
  } catch {
    // none yet, or torn: computed again
  }
  return { dir, files: {} };
}

/** sha256 (hex) of each file's bytes, in order; an unreadable file's entry is `error:<code>` (it is skipped later). */
export async function fileDigests(paths: readonly string[]): Promise<string[]> {
  const abs = paths.map((p) => resolve(p));
  const folders = new Map<string, FolderDigests>();
  for (const dir of new Set(abs.map(dirname))) folders.set(dir, await readFolder(dir));
  const changed = new Set<string>();
  const out = new Array<string>(abs.length);
  for (let start = 0; start < abs.length; start += CONCURRENCY) {
    await Promise.all(
      abs.slice(start, start + CONCURRENCY).map(async (path, j) => {
        const folder = folders.get(dirname(path))!;
        const name = basename(path);
        try {
          const st = await stat(path);
          const known = folder.files[name];
          if (known && known[0] === st.size && known[1] === st.mtimeMs && known[2] === st.ctimeMs && known[3] === st.ino) {
            out[start + j] = known[4];
            return;
          }
          const sha = createHash('sha256').update(await readImageFile(path)).digest('hex');
          folder.files[name] = [st.size, st.mtimeMs, st.ctimeMs, st.ino, sha];
          changed.add(folder.dir);
          out[start + j] = sha;
        } catch (err) {
          out[start + j] = `error:${(err as { code?: string }).code ?? 'unreadable'}`;
        }
      }),
    );
  }
  // A cache that cannot be written (read-only home) only costs hashing again next time.
  for (const dir of changed) await writeFileAtomic(folderFile(dir), JSON.stringify(folders.get(dir))).catch(() => undefined);
  return out;
}

/** Each sample's content: `file:<sha256>` of a file's bytes, `raw:<shape>:<sha256>` of raw pixels. */
export async function sampleDigests(samples: readonly Sample[]): Promise<string[]> {
  const files = samples.flatMap((s) => (s.source.kind === 'file' ? [s.source.path] : []));
  const shas = await fileDigests(files);
  let f = 0;
  return samples.map((s) => {
    const src = s.source;
    if (src.kind === 'file') return `file:${shas[f++]}`;
    return `raw:${src.width}x${src.height}x${src.channels}:${createHash('sha256').update(src.data).digest('hex')}`;
  });
}

/**
 * Images whose bytes are the same under two classes (a copy, where a link is caught when the folder is read): the
 * label of one of them is wrong, or the dataset holds a duplicate that a split may put in train and in test. Pairs of
 * sample ids, the first of each content first.
 */
export async function crossLabelCopies(ds: Dataset): Promise<[string, string][]> {
  const digests = await digestsOf(ds);
  const first = new Map<string, number>();
  const pairs: [string, string][] = [];
  digests.forEach((d, i) => {
    if (d.startsWith('file:error:')) return;
    const j = first.get(d);
    if (j === undefined) first.set(d, i);
    else if (ds.samples[j].label !== ds.samples[i].label) pairs.push([ds.samples[j].id, ds.samples[i].id]);
  });
  return pairs;
}

const memo = new WeakMap<Dataset, Promise<string>>();
const sampleMemo = new WeakMap<Dataset, Promise<string[]>>();

/** sampleDigests of a loaded dataset, once. */
function digestsOf(ds: Dataset): Promise<string[]> {
  if (!sampleMemo.has(ds)) sampleMemo.set(ds, sampleDigests(ds.samples));
  return sampleMemo.get(ds)!;
}

/**
 * 16 hex of what a dataset is: its classes and, per sample, its id, label and content digest. Two folders with the
 * same images give one digest; one folder edited gives another. Once per loaded dataset.
 */
export function datasetDigest(ds: Dataset): Promise<string> {
  let d = memo.get(ds);
  if (!d) {
    d = digestsOf(ds).then((digests) => {
      const h = createHash('sha256').update(JSON.stringify(ds.classes));
      ds.samples.forEach((s, i) => h.update(`${s.id}\0${s.label}\0${digests[i]}\n`));
      return h.digest('hex').slice(0, 16);
    });
    memo.set(ds, d);
  }
  return d;
}
