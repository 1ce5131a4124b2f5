import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { DataError } from '../errors.ts';
import { downloadFile, isOffline } from '../util/download.ts';
import { insideRoot } from './paths.ts';
import type { DatasetDownload, DatasetEntry } from './types.ts';

export interface PullEvents {
  onProgress?(file: string, bytes: number, total: number | undefined): void;
  onUnpack?(file: string): void;
}

/** $REPROBE_DATASETS_MIRROR replaces the official host (a lab mirror, or a test server): <mirror>/<file>. */
function urlOf(d: DatasetDownload): string {
  const mirror = process.env.REPROBE_DATASETS_MIRROR?.replace(/\/+$/, '');
  return mirror ? `${mirror}/${d.file}` : d.url;
}

/**
 * Fetch a dataset's official files into the data root: resumable downloads (size/sha256 checked when known) into
 * <root>/.downloads, archives unpacked where the loader looks; a marker per file makes a rerun skip finished work.
 */
export async function pullDataset(entry: DatasetEntry, root: string, ev: PullEvents = {}): Promise<string[]> {
  if (!entry.downloads?.length) throw new DataError(`${entry.name} has no direct download; ${entry.source ? `get it from ${entry.source} and lay it out as ${entry.layout}` : 'nothing to fetch'}.`);
  const done: string[] = [];
  for (const d of entry.downloads) {
    const into = join(root, d.into);
    const marker = join(root, '.downloads', `${d.file}.done`);
    if (existsSync(marker)) continue;
    if (isOffline()) throw new DataError(`${entry.name}: ${d.file} is not fetched and offline mode is on (HF_HUB_OFFLINE / REPROBE_OFFLINE); unset it to download, or put the files under ${root} as: ${entry.layout}.`);
    const path = await downloadFile(urlOf(d), join(root, '.downloads', d.file), { size: d.size, sha256: d.sha256, label: d.file, onProgress: (b, t) => ev.onProgress?.(d.file, b, t) });
    if (d.unpack) {
      ev.onUnpack?.(d.file);
      await mkdir(into, { recursive: true });
      if (d.unpack === 'tar') await tar.x({ file: path, cwd: into }); // tar refuses absolute and ../ paths by default
      else await unzip(path, into);
      await rm(path, { force: true });
    } else {
      await mkdir(into, { recursive: true });
      await rm(join(into, d.file), { force: true });
      await rename(path, join(into, d.file));
    }
    await writeFile(marker, new Date().toISOString());
    done.push(d.file);
  }
  return done;
}

/** Zip → folder; entries that would land outside it (zip-slip) are refused. */
function unzip(file: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(new DataError(`${file} is not a readable zip: ${err?.message}`));
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (e: yauzl.Entry) => {
        const dest = insideRoot(into, e.fileName);
        if (!dest) return reject(new DataError(`${file}: entry "${e.fileName}" would unpack outside ${into}; refused.`));
        if (e.fileName.endsWith('/')) return void mkdir(dest, { recursive: true }).then(() => zip.readEntry(), reject);
        zip.openReadStream(e, (err2, stream) => {
          if (err2 || !stream) return reject(err2);
          mkdir(dirname(dest), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(dest)))
            .then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  });
}
