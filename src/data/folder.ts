import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { Dataset, DatasetEntry, Sample } from './types.ts';

/** Extensions sharp decodes; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.gif', '.avif']);

/** One sub-folder per class (sorted names → labels), images inside it, searched recursively. */
export async function loadFolder(root: string): Promise<Dataset> {
  const abs = resolve(root);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory()) throw new DataError(`Dataset folder "${root}" does not exist or is not a folder. Use --dataset folder:<path> with one sub-folder per class.`);
  const classes = (await readdir(abs, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  if (classes.length === 0) throw new DataError(`Dataset folder "${root}" has no class sub-folders. Put images in <path>/<class>/<image>.`);
  const samples: Sample[] = [];
  for (const [label, cls] of classes.entries()) {
    for (const rel of await listImages(join(abs, cls), cls)) {
      samples.push({ id: rel, source: { kind: 'file', path: join(abs, rel) }, label });
    }
  }
  return { name: `folder:${root}`, classes, samples };
}

async function listImages(dir: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const sub = `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listImages(join(dir, entry.name), sub)));
    else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(sub);
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
