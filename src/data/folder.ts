import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { DataError, fsError } from '../errors.ts';
import { pushAll } from '../util/arrays.ts';
import type { Dataset, DatasetEntry, Sample } from './types.ts';

/** Extensions sharp decodes; anything else in a class folder is ignored. */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.gif', '.avif']);

type Rejected = NonNullable<Dataset['rejected']>;

/**
 * One sub-folder per class (sorted names → labels), images inside it, searched recursively. Symlinked folders are
 * followed (each real folder once, so a link loop ends; one reached from two classes would give its images two labels,
 * and stops the run with both names); an image reached twice through file links is listed once, and one reached from
 * two classes is rejected, as list files do; a name that is not valid UTF-8 cannot be given back to the
 * file system as a string, so such an image is rejected and listed, and such a class folder stops the run with its name.
 */
export async function loadFolder(root: string): Promise<Dataset> {
  const abs = resolve(root);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory()) throw new DataError(`Dataset folder "${root}" does not exist or is not a folder. Use --dataset folder:<path> with one sub-folder per class.`);
  const classes: string[] = [];
  for (const e of await entries(abs)) {
    if (e.name.startsWith('.') || !(await isFolder(join(abs, e.name), e.isDirectory(), e.isSymbolicLink()))) continue;
    if (!e.utf8) throw new DataError(`Class folder ${JSON.stringify(e.name)} in "${root}" has a name that is not valid UTF-8; rename it.`);
    classes.push(e.name);
  }
  classes.sort();
  if (classes.length === 0) throw new DataError(`Dataset folder "${root}" has no class sub-folders. Put images in <path>/<class>/<image>.`);
  const samples: Sample[] = [];
  const rejected: Rejected = [];
  const owner = new Map<string, string>();
  const found: { rel: string; real: string; label: number }[] = [];
  for (const [label, cls] of classes.entries()) {
    const dir = join(abs, cls);
    const real = await realpath(dir).catch(() => dir);
    if (!claim(owner, real, cls)) continue;
    for (const f of await listImages(dir, real, cls, owner, rejected)) found.push({ ...f, label });
  }
  // The same file under two names (links): listed once; under two classes: not at all.
  const labelsOf = new Map<string, Set<number>>();
  for (const f of found) labelsOf.set(f.real, (labelsOf.get(f.real) ?? new Set()).add(f.label));
  const first = new Map<string, string>();
  for (const f of found) {
    const labels = labelsOf.get(f.real)!;
    if (labels.size > 1) rejected.push({ id: f.rel, reason: `the same image is under classes ${[...labels].map((l) => classes[l]).join(' and ')} (a link?)` });
    else if (first.has(f.real)) rejected.push({ id: f.rel, reason: `listed twice (same image as ${first.get(f.real)}, through a link)` });
    else {
      first.set(f.real, f.rel);
      samples.push({ id: f.rel, source: { kind: 'file', path: join(abs, f.rel) }, label: f.label });
    }
  }
  return { name: `folder:${root}`, classes, samples, ...(rejected.length ? { rejected } : {}) };
}

interface Entry {
  name: string;
  utf8: boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** A folder's entries, sorted by name, with whether each name is valid UTF-8 (read as bytes, so none is lost). */
async function entries(dir: string): Promise<Entry[]> {
  let raw;
  try {
    raw = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    throw fsError(err, `Cannot read the folder "${dir}"`, 'Fix its permissions or move it out of the dataset.');
  }
  return raw
    .map((d) => {
      const bytes = d.name as unknown as Buffer;
      const name = bytes.toString('utf8');
      return { name, utf8: Buffer.from(name, 'utf8').equals(bytes), isDirectory: () => d.isDirectory(), isSymbolicLink: () => d.isSymbolicLink() };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A directory, or a symlink to one. */
async function isFolder(path: string, dir: boolean, link: boolean): Promise<boolean> {
  if (dir) return true;
  if (!link) return false;
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/** Record that `real` is listed under `cls`: false if it already is (a loop), an error if another class has it. */
function claim(owner: Map<string, string>, real: string, cls: string): boolean {
  const other = owner.get(real);
  if (other === undefined) {
    owner.set(real, cls);
    return true;
  }
  if (other === cls) return false;
  throw new DataError(`Classes "${other}" and "${cls}" both lead to the folder ${real} (a symlink?): its images would have two labels.`);
}

/** The images under `dir` (whose real path is `realDir`): each one's id (`rel/...`) and real path. */
async function listImages(dir: string, realDir: string, rel: string, owner: Map<string, string>, rejected: Rejected): Promise<{ rel: string; real: string }[]> {
  const out: { rel: string; real: string }[] = [];
  for (const e of await entries(dir)) {
    if (e.name.startsWith('.')) continue;
    const sub = `${rel}/${e.name}`;
    if (await isFolder(join(dir, e.name), e.isDirectory(), e.isSymbolicLink())) {
      const real = await realpath(join(dir, e.name)).catch(() => undefined);
      if (!real || !claim(owner, real, rel.split('/')[0])) continue; // a link back up the tree (a loop), or a folder already listed
      pushAll(out, await listImages(join(dir, e.name), real, sub, owner, rejected));
    } else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      if (!e.utf8) rejected.push({ id: sub, reason: 'file name is not valid UTF-8 (rename it)' });
      // A dangling link keeps its own path: it is skipped as unreadable later, with the reason.
      else out.push({ rel: sub, real: e.isSymbolicLink() ? await realpath(join(dir, e.name)).catch(() => join(dir, e.name)) : join(realDir, e.name) });
    }
  }
  return out;
}

export const folderEntry: DatasetEntry = {
  name: 'folder',
  summary: 'any image folder: <path>/<class>/<image> (jpg, png, tiff, webp, gif, avif)',
  arg: '<path>',
  load: async (arg) => {
    if (!arg) throw new DataError('The folder dataset needs a path: --dataset folder:<path>.');
    return loadFolder(arg);
  },
};
