import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

/** A preload (node --require, which workers run too) that logs each native addon a thread loads: "<thread id> <file>". */
function addonLog(): { hook: string; log: string } {
  const dir = tempDir();
  const hook = join(dir, 'hook.cjs');
  const log = join(dir, 'addons.log');
  writeFileSync(
    hook,
    `const { threadId } = require('node:worker_threads');
const { appendFileSync } = require('node:fs');
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  appendFileSync(${JSON.stringify(log)}, threadId + ' ' + filename + '\\n');
  return dlopen.call(this, module, filename, ...rest);
};
`,
  );
  writeFileSync(log, '');
  return { hook, log };
}

test("sharp's libvips is loaded by the main thread before the image preparation thread loads it (a worker's exit must not unload it)", () => {
  // A sweep on the digits (raw pixels): the CLI's main thread needs sharp for nothing before extraction starts.
  const dir = tempDir();
  const file = join(dir, 'sweep.yaml');
  writeFileSync(file, stringify({ backbones: ['mobilenet-v2'], datasets: ['mnist'], shots: [1], seeds: [0], valPerClass: 1, testPerClass: 1, extract: 'split', methods: { knn: {} }, resultsDir: join(dir, 'results') }));
  const { hook, log } = addonLog();
  // Built beforehand: a start that builds the CLI's bundle loads each lazy package to see its exports (bin/bundle.mjs).
  spawnSync(process.execPath, [bin, '--version']);
  const r = spawnSync(process.execPath, ['--require', hook, bin, 'sweep', file], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() }, timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  const loads = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => /sharp-[\w.-]+\.node$/.test(l))
    .map((l) => Number(l.split(' ')[0]));
  assert.ok(loads.some((t) => t !== 0), `the preparation thread loaded sharp (threads: ${loads.join(', ')})`);
  assert.equal(loads[0], 0, `the first thread to load sharp was thread ${loads[0]}`);
});
