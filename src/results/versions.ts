import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export interface Versions {
  reprobe: string;
  commit: string | null;
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
    commit: gitCommit(),
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

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}
