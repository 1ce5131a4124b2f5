import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ORT_VERSION } from '../backbones/ort.ts';
import { TFJS_VERSION } from '../backbones/tfjs.ts';

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

/** Code and library versions recorded with every result. */
export function versions(): Versions {
  cached ??= {
    reprobe: (require('../../package.json') as { version: string }).version,
    commit: gitCommit(),
    node: process.versions.node,
    onnxruntime: ORT_VERSION,
    tfjs: TFJS_VERSION,
    sharp: sharp.versions.sharp ?? 'unknown',
  };
  return cached;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}
