import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DoctorReport } from '../../src/jobs/doctor.ts';
import { cudaStatus } from '../../src/runtime/ort.ts';
import { tempDir } from '../helpers.ts';

const home = tempDir();
const data = join(tempDir(), 'data');
const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
// A hub model and a converted graph in the cache root, for the "cached" lines.
mkdirSync(join(home, 'models', 'owner', 'repo', 'main'), { recursive: true });
writeFileSync(join(home, 'models', 'owner', 'repo', 'main', 'model.onnx'), Buffer.alloc(1000));
mkdirSync(join(home, 'onnx'));
writeFileSync(join(home, 'onnx', 'mobilenet-v2--tap--0123.onnx'), Buffer.alloc(10));

function reprobe(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: home, REPROBE_DATA: data } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** CUDA as doctor and --device cuda find it (the same function), so the expectations hold on a GPU machine too. */
const cuda = await cudaStatus();

test('doctor: exit 0, versions, the hardware lines, runtimes, the cache and data roots with free space', () => {
  const r = reprobe('doctor');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, new RegExp(`^  node: +${process.versions.node.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(r.out, /^  npm: +\S+/m);
  assert.match(r.out, /^  reprobe: +\d+\.\d+\.\d+/m);
  for (const key of ['cpu', 'cores', 'features', 'memory', 'os', 'gpu']) assert.match(r.out, new RegExp(`^  ${key}: +\\S`, 'm'), key);
  assert.match(r.out, /^  cores: +\d+ logical$/m);
  assert.match(r.out, /^tfjs backends \(auto picks (wasm|cpu|tensorflow)\)$/m);
  assert.match(r.out, /^  cpu: +yes, bundled$/m); // onnxruntime's CPU provider
  assert.match(r.out, /^  cuda: +(yes|no), /m);
  assert.match(r.out, new RegExp(`^  cache root: +${home.replace(/[.\\]/g, '\\$&')}, [\\d.]+ GB free`, 'm'));
  assert.match(r.out, new RegExp(`^  data root: +${data.replace(/[.\\]/g, '\\$&')} \\(not created yet\\), [\\d.]+ GB free`, 'm'));
  assert.match(r.out, /^  models: +owner\/repo: 1 files, 0\.0 MB$/m);
  assert.match(r.out, /^  converted: +1 ONNX graph/m);
  // Every `key: value` line of a group has its value in the same column.
  const columns = new Set(r.out.split('\n').filter((l) => /^  \S[^:]*: /.test(l)).map((l) => l.search(/(?<=: +)\S/)));
  assert.equal(columns.size, 1, [...columns].join(','));
});

test('doctor --json: one JSON object with every part of the report', () => {
  const r = reprobe('doctor', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as DoctorReport;
  assert.equal(j.versions.node, process.versions.node);
  assert.ok(j.hardware.cores >= 1 && j.hardware.cpu.length > 0);
  assert.equal(j.roots.cache.path, home);
  assert.equal(j.roots.data.exists, false);
  assert.ok(j.tfjs.backends.some((b) => b.name === 'cpu' && b.ok));
  assert.equal(j.onnxruntime.providers.find((p) => p.name === 'cuda')?.ok ?? false, cuda.usable);
  assert.deepEqual(j.cached.models, { files: 1, bytes: 1000, repos: ['owner/repo'] });
  assert.deepEqual(j.cached.converted, { files: 1, bytes: 10 });
  assert.deepEqual(j.device, { asked: 'cpu', strict: false, usable: true });
});

test('doctor --device cuda --strict: exit 2 with one line saying what is missing, unless CUDA is usable here', () => {
  const r = reprobe('doctor', '--device', 'cuda', '--strict');
  if (cuda.usable) {
    assert.equal(r.code, 0, r.err);
    return;
  }
  assert.equal(r.code, 2);
  assert.match(r.out, /^hardware$/m); // the report is printed first
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /^reprobe: --device cuda --strict: .*CUDA execution provider/);
  const alias = reprobe('doctor', '--device', 'cuda', '--require-device', '--json');
  assert.equal(alias.code, 2);
  assert.deepEqual((JSON.parse(alias.out) as DoctorReport).device, { asked: 'cuda', strict: true, usable: false, missing: cuda.missing });
});

test('doctor --device cuda without --strict: exit 0, and says runs would fall back when CUDA is not usable', () => {
  const r = reprobe('doctor', '--device', 'cuda');
  assert.equal(r.code, 0, r.err);
  if (!cuda.usable) assert.match(r.out, /--device cuda: not usable, runs would fall back to the CPU/);
});

test('probe --device cuda --strict: exit 2 with one line before anything is read or written; without --strict it falls back with a note', { skip: cuda.usable && 'CUDA is usable here' }, () => {
  const results = join(tempDir(), 'results');
  const args = ['probe', '-b', 'mobilenet-v2', '-d', 'mnist', '--shots', '2', '--test-per-class', '2', '--device', 'cuda', '--results-dir', results];
  const strict = reprobe(...args, '--strict');
  assert.equal(strict.code, 2, strict.err);
  assert.equal(strict.out, '');
  assert.equal(strict.err.trim().split('\n').length, 1, strict.err);
  assert.match(strict.err, /^reprobe: --device cuda --strict: /);
  assert.ok(!existsSync(results), 'nothing written');
  const fallback = reprobe(...args);
  assert.equal(fallback.code, 0, fallback.err);
  assert.match(fallback.err, /^warning: .*CUDA execution provider.*; running on CPU$/m);
  assert.match(fallback.err, /mobilenet-v2 @ \S+ on onnxruntime-node \S+ \(cpu/);
});
