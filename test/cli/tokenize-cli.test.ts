import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers.ts';
import { tinyVocab, writeTinyTokenizer } from '../fixtures/tiny-tokenizer.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'reprobe.mjs');
const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'clip-vit-b32-tokenizer');

function reprobe(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, 'tokenize', ...args], { encoding: 'utf8', input, env: { ...process.env, REPROBE_HOME: tempDir(), HF_HUB_CACHE: tempDir(), HF_HUB_OFFLINE: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const arrays = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as number[]);

test('tokenize --tokenizer DIR: one JSON array per text, per stdin line with -, cut at --context with a note', () => {
  const dir = writeTinyTokenizer(tempDir());
  const V = tinyVocab();
  const [sot, eot] = [V['<|startoftext|>'], V['<|endoftext|>']];
  const r = reprobe(['-b', 'clip', '--tokenizer', dir, 'hello cat', '42', '', '--', '-x']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(arrays(r.out), [[sot, V['hello</w>'], V['cat</w>'], eot], [sot, V['4</w>'], V['2</w>'], eot], [sot, eot], [sot, V['-</w>'], V['x</w>'], eot]]);
  const s = reprobe(['--backbone', 'clip-vit-b32', '--tokenizer', dir, '--context', '4', '-'], 'a b c d\r\n\ncat\n');
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(arrays(s.out), [[sot, V['a</w>'], V['b</w>'], eot], [sot, eot], [sot, V['cat</w>'], eot]]);
  assert.equal(s.err, 'reprobe: note: input 1 is 6 tokens; cut to 4, the end token kept last.\n');
});

test('tokenize: no text tower, no texts, a missing folder, a bad --context, a mistyped option and offline without files are one line each', () => {
  const dir = writeTinyTokenizer(tempDir());
  const cases: [string[], RegExp][] = [
    [['-b', 'mobilenet-v2', '--tokenizer', dir, 'x'], /^reprobe: mobilenet-v2 has no text tower, so no tokenizer/],
    [['-b', 'clip', '--tokenizer', dir], /^reprobe: Give the texts to tokenize/],
    [['-b', 'clip', '--tokenizer', join(dir, 'nope'), 'x'], /^reprobe: tokenizer folder ".*nope" does not exist/],
    [['-b', 'clip', '--tokenizer', dir, '--context', '1', 'x'], /^reprobe: --context 1: give a whole number ≥ 2/],
    [['-b', 'clip', '--tokenizer', dir, '--contxt', '5', 'x'], /^reprobe: Unknown option --contxt/],
    [['-b', 'clip', 'x'], /^reprobe: Xenova\/clip-vit-base-patch32\/vocab\.json is not cached .*`reprobe models pull clip-vit-b32`/],
  ];
  for (const [args, re] of cases) {
    const r = reprobe(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

test('tokenize on the real CLIP files: the known example and a long prompt cut at 77', { skip: existsSync(join(shared, 'vocab.json')) ? false : 'needs ../shared/models/clip-vit-b32-tokenizer (not on a fresh machine)' }, () => {
  const r = reprobe(['-b', 'clip', '--tokenizer', shared, 'a photo of a cat.', Array(100).fill('a').join(' ')]);
  assert.equal(r.code, 0, r.err);
  const [cat, long] = arrays(r.out);
  assert.deepEqual(cat, [49406, 320, 1125, 539, 320, 2368, 269, 49407]);
  assert.deepEqual([long.length, long[0], long[75], long[76]], [77, 49406, 320, 49407]);
  assert.match(r.err, /input 2 is 102 tokens; cut to 77/);
});
