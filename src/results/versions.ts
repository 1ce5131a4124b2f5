import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export interface Versions {
  reprobe: string;
  commit: string | null;
  /** True when the working tree differed from the commit (tracked changes or untracked files): the number was made by changed code. */
  dirty: boolean | null;
  /** sha256 of what differed (gitState): two dirty records with one hash ran the same code. Null when clean. */
  diff_sha256: string | null;
  node: string;
  onnxruntime: string;
  tfjs: string;
  sharp: string;
}

let cached: Versions | undefined;

/** Code and library versions recorded with every result, read from package metadata (no runtime is loaded for it). */
export function versions(): Versions {
  cached ??= {
    reprobe: readVersion(join(root, 'package.json')),
    ...gitState(root),
    node: process.versions.node,
    onnxruntime: packageVersion('onnxruntime-node'),
    tfjs: packageVersion('@tensorflow/tfjs'),
    sharp: packageVersion('sharp'),
  };
  return cached;
}

/** The installed version of a dependency: its package.json, found above its resolved entry point (exports maps may hide it). */
export function packageVersion(name: string): string {
  try {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name) return readVersion(pkg);
    }
  } catch {
    /* not installed */
  }
  return 'unknown';
}

function readVersion(pkg: string): string {
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });

/**
 * The commit of the checkout at `cwd`, whether its tree differs from it, and the sha256 of the difference: the binary
 * diff of tracked files against HEAD, then each untracked (not ignored) file's path and bytes, in path order. All null
 * outside a git checkout.
 */
export function gitState(cwd: string): Pick<Versions, 'commit' | 'dirty' | 'diff_sha256'> {
  try {
    const commit = git(cwd, ['rev-parse', '--short=12', 'HEAD']).toString().trim() || null;
    const diff = git(cwd, ['diff', 'HEAD', '--binary']);
    const untracked = git(cwd, ['ls-files', '--others', '--exclude-standard', '-z']).toString().split('\0').filter(Boolean).sort();
    if (diff.length === 0 && untracked.length === 0) return { commit, dirty: false, diff_sha256: null };
    const h = createHash('sha256').update(diff);
    for (const f of untracked) h.update(`\0${f}\0`).update(readable(join(cwd, f)));
    return { commit, dirty: true, diff_sha256: h.digest('hex') };
  } catch {
    return { commit: null, dirty: null, diff_sha256: null };
  }
}

/** A file's bytes, or none when it cannot be read (a socket, no permission): its path still counts. */
function readable(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}
