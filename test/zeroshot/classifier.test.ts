import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tfjsBackend } from '../../src/runtime/tfjs.ts';
import { cosineHeadModel } from '../../src/train/head.ts';
import { predictLogits } from '../../src/train/loop.ts';
import { classWeights, zeroShotLogits } from '../../src/zeroshot/classifier.ts';
import { classNames, loadPrompts } from '../../src/zeroshot/prompts.ts';
import { tempDir } from '../helpers.ts';

const close = (a: ArrayLike<number>, b: readonly number[], tol: number) => b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol * (1 + Math.abs(v)), `${i}: ${a[i]} vs ${v}`));

test("CLIP's ensembling: each prompt normalised, averaged per class, normalised again; logits = scale x cosine", async () => {
  // Class 0 has two prompts, [1, 0] and [0, 2]; class 1 one, [0, -3].
  const W = classWeights({ rows: 3, cols: 2, data: Float32Array.from([1, 0, 0, 2, 0, -3]) }, [2, 1]);
  close(W.data, [Math.SQRT1_2, Math.SQRT1_2, 0, -1], 1e-6);
  const logits = await zeroShotLogits({ rows: 1, cols: 2, data: Float32Array.from([3, 4]) }, W, 100);
  close(logits, [100 * (0.6 + 0.8) * Math.SQRT1_2, -80], 1e-5);
  assert.throws(() => classWeights({ rows: 3, cols: 2, data: new Float32Array(6) }, [1, 1]), /3 embeddings for 2 prompts/);
});

test('PRO at step 0 is zero-shot: the untrained cosine head gives the same logits', async () => {
  await tfjsBackend('auto');
  const W = classWeights({ rows: 3, cols: 4, data: Float32Array.from([1, 0, 2, 0, 0, 1, 0, -1, 3, 3, 0, 1]) }, [1, 1, 1]);
  const x = { rows: 5, cols: 4, data: Float32Array.from({ length: 20 }, (_, i) => Math.sin(i * 1.7) * 2) };
  const zs = await zeroShotLogits(x, W, 100);
  const head = cosineHeadModel(W.data, 3, 100);
  const pro = await predictLogits(head, x.data, 4);
  head.dispose();
  close(pro, Array.from(zs), 1e-4);
});

test('prompts: a named set, a template file, CuPL per-class JSON; readable class names; one line for each mistake', async () => {
  const dir = tempDir();
  const ucm = 'agricultural airplane baseballdiamond beach buildings chaparral denseresidential forest freeway golfcourse harbor intersection mediumresidential mobilehomepark overpass parkinglot river runway sparseresidential storagetanks tenniscourt'.split(' ');
  assert.deepEqual((await classNames('ucmerced', ucm)).slice(0, 4), ['agricultural land', 'airplane', 'baseball diamond', 'beach']);
  const classes = ['baseballdiamond', 'golf_course'];
  const names = await classNames('x', classes);
  assert.deepEqual(names, ['baseballdiamond', 'golf course']);
  const sat = await loadPrompts('auto', 'ucmerced', classes, names);
  assert.equal(sat.source, 'satellite');
  assert.equal(sat.perClass[1][0], 'satellite imagery of golf course.');
  assert.equal((await loadPrompts('imagenet', 'x', classes, names)).perClass[1].length, 80);
  writeFileSync(join(dir, 't.txt'), '# comment\nan aerial view of {c}\n');
  assert.deepEqual((await loadPrompts(join(dir, 't.txt'), 'x', classes, names)).perClass, [['an aerial view of baseballdiamond'], ['an aerial view of golf course']]);
  writeFileSync(join(dir, 'cupl.json'), JSON.stringify({ baseballdiamond: ['a diamond-shaped field'], 'golf course': ['green fairways', 'sand bunkers'] }));
  const cupl = await loadPrompts(join(dir, 'cupl.json'), 'x', classes, names);
  assert.deepEqual(cupl.perClass, [['a diamond-shaped field'], ['green fairways', 'sand bunkers']]);
  assert.notEqual(cupl.hash, sat.hash);
  writeFileSync(join(dir, 'bad.txt'), 'no placeholder here\n');
  await assert.rejects(loadPrompts(join(dir, 'bad.txt'), 'x', classes, names), /has no \{c\}/);
  await assert.rejects(loadPrompts('sattelite', 'x', classes, names), /Unknown template set "sattelite"/);
  writeFileSync(join(dir, 'n.txt'), 'tennis = tennis court\n');
  await assert.rejects(classNames('x', classes, join(dir, 'n.txt')), /"tennis" is not a class of x/);
});

test('a class names file with an empty name or a class listed twice is refused at its line', async () => {
  const dir = tempDir();
  const classes = ['airplane', 'beach'];
  const file = join(dir, 'names.txt');
  writeFileSync(file, '# names\nairplane = \nbeach = sandy beach\n');
  await assert.rejects(classNames('x', classes, file), (e: Error) => e.message === `${file}:2: class "airplane" has no name after "="; give its words or leave the line out.`);
  writeFileSync(file, 'airplane = plane\nbeach = beach\n\nairplane = jet\n');
  await assert.rejects(classNames('x', classes, file), (e: Error) => e.message === `${file}:4: class "airplane" is listed twice (first on line 1); keep one line.`);
  writeFileSync(file, ' = plane\n');
  await assert.rejects(classNames('x', classes, file), (e: Error) => e.message.startsWith(`${file}:1: expected "<class> = <words>"`));
  writeFileSync(file, 'airplane = jet plane\n');
  assert.deepEqual(await classNames('x', classes, file), ['jet plane', 'beach']);
});
