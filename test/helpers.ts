import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { seeded } from '../src/util/rng.ts';
import { matrix, type Matrix } from '../src/util/matrix.ts';
import { removeAll } from './runner/remove.ts';

const made: string[] = [];

/** A fresh temp folder per call, removed when the test file's process exits (npm test fails on what a run leaves). */
export function tempDir(prefix = 'reprobe-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Readable by an unprivileged child (see unprivileged()); mkdtemp makes it 0700.
  chmodSync(dir, 0o755);
  if (!made.length) process.on('exit', () => made.forEach(removeAll));
  made.push(dir);
  return dir;
}

/** A folder dataset of tiny PNGs, `root`/cat and `root`/dog with `perClass` images each, every image a distinct colour. */
export async function catsAndDogs(root: string, perClass: number): Promise<string> {
  for (const c of ['cat', 'dog'])
    for (let i = 0; i < perClass; i++) {
      mkdirSync(join(root, c), { recursive: true });
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: c === 'cat' ? 20 : 230, g: 90 * i, b: 90 } } }).png().toFile(join(root, c, `${i}.png`));
    }
  return root;
}

/** Gaussian blobs: `perClass` points per class around well-separated random centres in `dim` dimensions. */
export function blobs(classes: number, perClass: number, dim: number, seed: number, spread = 0.3): { x: Matrix; y: Int32Array } {
  const rng = seeded(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => gauss() * 3));
  const x = matrix(classes * perClass, dim);
  const y = new Int32Array(classes * perClass);
  for (let c = 0; c < classes; c++)
    for (let i = 0; i < perClass; i++) {
      const r = c * perClass + i;
      y[r] = c;
      for (let d = 0; d < dim; d++) x.data[r * dim + d] = centres[c][d] + spread * gauss();
    }
  return { x, y };
}

/**
 * Spawn options that run a child without root's power to ignore permissions (tests of unreadable and read-only
 * folders): as `nobody` when the tests run as root, as is otherwise. Undefined when that user cannot run reprobe
 * from this checkout (skip the test then).
 */
export function unprivileged(): { uid?: number; gid?: number } | undefined {
  if (process.getuid?.() !== 0) return {};
  const opt = { uid: 65534, gid: 65534 };
  const bin = join(import.meta.dirname, '..', 'bin', 'reprobe.mjs');
  const r = spawnSync(process.execPath, [bin, '--version'], { ...opt, encoding: 'utf8', env: { ...process.env, HOME: tmpdir() } });
  return r.status === 0 ? opt : undefined;
}

/**
 * Remove `dir`, a temp folder of test entries inside the checkout, and the bundles bin/bundle.mjs made of them: those
 * are named after their entry's path, which never recurs, so bundle()'s pruning of a name's older versions never
 * reaches them and every run would add its own.
 */
export function removeEntriesAndBundles(dir: string): void {
  const root = join(import.meta.dirname, '..');
  const prefix = `${relative(root, dir).replace(/[^\w.-]+/g, '-')}-`;
  const cache = join(root, 'node_modules', '.cache', 'reprobe');
  for (const f of existsSync(cache) ? readdirSync(cache) : []) if (f.startsWith(prefix)) rmSync(join(cache, f), { force: true });
  rmSync(dir, { recursive: true, force: true });
}
