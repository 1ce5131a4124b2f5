import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fsError, ReprobeError } from './../src/errors.ts';
import { tempDir } from './helpers.ts';

/** The error node:fs gives for `f`, as fsError words it. */
async function worded(f: () => Promise<unknown>): Promise<string> {
  const err = await f().then(() => assert.fail('no error'), (e: unknown) => e);
  const out = fsError(err, 'Cannot write results in X', 'Pass --results-dir with a writable folder.');
  assert.ok(out instanceof ReprobeError);
  return out.message;
}

test('fsError says what to do per error code (no "free space" for a missing path or one that exists), then the caller\'s way out', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'file'), '');
  mkdirSync(join(dir, 'full'));
  writeFileSync(join(dir, 'full', 'x'), '');
  await symlink('loop', join(dir, 'loop'));
  const enoent = await worded(() => readFile(join(dir, 'missing', 'x')));
  assert.equal(enoent, 'Cannot write results in X (ENOENT: no such file or folder). Check the path. Or pass --results-dir with a writable folder.');
  const eexist = await worded(() => mkdir(join(dir, 'file')));
  assert.match(eexist, /^Cannot write results in X \(EEXIST: it already exists\)\. Remove or rename what is there, or pass another path\. Or pass --results-dir/);
  assert.match(await worded(() => readFile(join(dir, 'loop'))), /\(ELOOP: too many symbolic links\)\. Check the links in the path/);
  for (const m of [enoent, eexist]) assert.doesNotMatch(m, /free/i);
  // A code without a hint of its own: the caller's way out alone.
  assert.equal(fsError(Object.assign(new Error('x'), { code: 'EWEIRD' }), 'Cannot do it', 'Try another.') instanceof ReprobeError, true);
  assert.equal((fsError(Object.assign(new Error('x'), { code: 'EWEIRD' }), 'Cannot do it', 'Try another.') as Error).message, 'Cannot do it (EWEIRD). Try another.');
});
