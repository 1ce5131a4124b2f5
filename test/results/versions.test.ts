import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gitState, versions } from '../../src/results/versions.ts';
import { tempDir } from '../helpers.ts';

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd }).toString();

test('provenance: the commit, dirty when tracked code changed or a file was added, and the hash of that difference', () => {
  const repo = tempDir();
  git(repo, 'init', '-q');
  writeFileSync(join(repo, 'probe.ts'), 'export const k = 1;\n');
  writeFileSync(join(repo, '.gitignore'), '*.log\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  const commit = git(repo, 'rev-parse', '--short=12', 'HEAD').trim();
  assert.deepEqual(gitState(repo), { commit, dirty: false, diff_sha256: null });
  writeFileSync(join(repo, 'run.log'), 'ignored output, not code');
  assert.equal(gitState(repo).dirty, false, 'an ignored file is not a change');
  writeFileSync(join(repo, 'new.ts'), 'export {};\n');
  assert.equal(gitState(repo).dirty, true, 'a file added (not yet committed) is a change');
  rmSync(join(repo, 'new.ts'));
  // A changed tracked file: dirty, and the hash is the sha256 of git's own diff against the commit.
  writeFileSync(join(repo, 'probe.ts'), 'export const k = 2;\n');
  const diff = execFileSync('git', ['diff', 'HEAD', '--binary'], { cwd: repo });
  const changed = gitState(repo);
  assert.deepEqual(changed, { commit, dirty: true, diff_sha256: createHash('sha256').update(diff).digest('hex') });
  // An added file is a change too, and changes the hash; so does its content.
  writeFileSync(join(repo, 'extra.ts'), 'a');
  const added = gitState(repo);
  assert.equal(added.dirty, true);
  assert.notEqual(added.diff_sha256, changed.diff_sha256);
  writeFileSync(join(repo, 'extra.ts'), 'b');
  assert.notEqual(gitState(repo).diff_sha256, added.diff_sha256);
  // Back to the commit: clean again.
  rmSync(join(repo, 'extra.ts'));
  git(repo, 'checkout', '-q', 'probe.ts');
  assert.deepEqual(gitState(repo), { commit, dirty: false, diff_sha256: null });
  assert.deepEqual(gitState(tempDir()), { commit: null, dirty: null, diff_sha256: null }, 'outside a checkout: unknown, not clean');
});

test("every record's versions say whether reprobe's own checkout was changed, as git status sees it", () => {
  const root = join(import.meta.dirname, '..', '..');
  const porcelain = execFileSync('git', ['status', '--porcelain'], { cwd: root }).toString();
  const v = versions();
  assert.equal(v.dirty, porcelain.trim().length > 0, porcelain);
  assert.equal(v.diff_sha256 === null, !v.dirty);
});
