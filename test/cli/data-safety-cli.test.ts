import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

function reprobe(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, HOME: tempDir(), ...env } });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

test('cache clear removes only the named keys; a form whose keys do not arrive (-- KEY, --keys KEY, none) removes nothing', () => {
  const home = tempDir();
  const dir = join(home, 'features');
  mkdirSync(dir);
  const keys = ['aaaa1111', 'bbbb2222', 'cccc3333'];
  for (const k of keys) for (const ext of ['npy', 'json']) writeFileSync(join(dir, `${k}.${ext}`), '{}');
  const left = () => [...new Set(readdirSync(dir).map((f) => f.split('.')[0]))].sort();
  for (const form of [['--', 'aaaa1111'], ['--keys', 'aaaa1111'], []]) {
    const r = reprobe(['cache', 'clear', ...form], { REPROBE_HOME: home });
    assert.equal(r.code, 2, `${form.join(' ')}: ${r.err}`);
    assert.match(r.err, /--all/);
    assert.deepEqual(left(), keys, form.join(' '));
  }
  assert.equal(reprobe(['cache', 'clear', 'aaaa'], { REPROBE_HOME: home }).code, 0);
  assert.deepEqual(left(), keys.slice(1));
  assert.equal(reprobe(['cache', 'clear', '--all'], { REPROBE_HOME: home }).code, 0);
  assert.deepEqual(left(), []);
});
