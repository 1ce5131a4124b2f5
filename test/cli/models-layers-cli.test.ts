/**
 * `reprobe models layers` on an ONNX study card: its fine-tuning blocks read from the downloaded graph (here the
 * ConvNeXt-T fixture put where `models pull` keeps it), and one line naming `models pull` while it is not downloaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';
import { hfModelPath, hfReference } from '../fixtures/hf-references.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');

test('models layers lists an ONNX card\'s blocks from its downloaded graph, and asks for `models pull` before', (t) => {
  const home = tempDir();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = { ...process.env, REPROBE_HOME: home, HF_HUB_CACHE: join(home, 'hf'), HF_HUB_OFFLINE: '1' };
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

  const missing = run('models', 'layers', 'convnext-tiny');
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /^reprobe: convnext-tiny's blocks are read from its ONNX graph, which is not on this machine: `reprobe models pull convnext-tiny` first\.\n$/);

  // $REPROBE_HOME/models/<org>/<name>/<revision>/<file>, where `models pull` writes the card's hub file.
  const cached = join(home, 'models', 'facebook', 'convnext-tiny-224', 'main', 'onnx', 'model.onnx');
  mkdirSync(join(cached, '..'), { recursive: true });
  copyFileSync(hfModelPath(hfReference('convnext-tiny')!), cached);
  const r = run('models', 'layers', 'convnext-tiny');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').slice(2);
  // The fixture's config: depths [1, 1, 1, 1], one block per ConvNeXt layer; the pooled output ends the last.
  assert.equal(rows.length, 4, r.stdout);
  assert.match(rows[0], /^1\s+\/model\/encoder\/stages\.0\/layers\.0\/Add_output_0\s+\d+\s+block 1 of 4; --train last:3 trains what follows$/);
  assert.match(rows[3], /^4\s+pooler_output\s+\d+\s+block 4 of 4$/);
});
