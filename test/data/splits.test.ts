import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { defaultValPerClass, fewShotSplit } from '../../src/data/splits.ts';

const classes = ['a', 'b', 'c'];
const labels = [...Array(20).fill(0), ...Array(15).fill(1), ...Array(30).fill(2)];

test('few-shot split is stratified: shots and val per class, the rest is test', () => {
  const s = fewShotSplit(labels, classes, { shots: 5, valPerClass: 2, seed: 1 });
  for (const c of [0, 1, 2]) {
    assert.equal(s.train.filter((i) => labels[i] === c).length, 5);
    assert.equal(s.val.filter((i) => labels[i] === c).length, 2);
  }
  assert.equal(s.test.length, labels.length - 21);
});

test('train, val and test are disjoint and cover only real indices', () => {
  const s = fewShotSplit(labels, classes, { shots: 4, valPerClass: 3, seed: 7 });
  const all = [...s.train, ...s.val, ...s.test];
  assert.equal(new Set(all).size, all.length);
  assert.ok(all.every((i) => i >= 0 && i < labels.length));
});

test('test-per-class caps the test set per class', () => {
  const s = fewShotSplit(labels, classes, { shots: 2, valPerClass: 1, testPerClass: 4, seed: 0 });
  for (const c of [0, 1, 2]) assert.equal(s.test.filter((i) => labels[i] === c).length, 4);
});

test('same seed gives the same split, another seed a different one', () => {
  const opt = { shots: 5, valPerClass: 2 };
  assert.deepEqual(fewShotSplit(labels, classes, { ...opt, seed: 3 }), fewShotSplit(labels, classes, { ...opt, seed: 3 }));
  assert.notDeepEqual(fewShotSplit(labels, classes, { ...opt, seed: 3 }).train, fewShotSplit(labels, classes, { ...opt, seed: 4 }).train);
});

test('too few images: one error naming the class, its count and the need', () => {
  assert.throws(
    () => fewShotSplit(labels, classes, { shots: 13, valPerClass: 2, seed: 0 }),
    (e: unknown) => e instanceof DataError && /"b" has 15/.test(e.message) && /needs 16/.test(e.message) && !e.message.includes('\n'),
  );
});

test('default validation size is about 0.3 x shots, at least 1', () => {
  assert.equal(defaultValPerClass(10), 3);
  assert.equal(defaultValPerClass(1), 1);
  assert.equal(defaultValPerClass(100), 30);
});

test('shots below 1 or fractional are rejected with the flag name', () => {
  assert.throws(() => fewShotSplit(labels, classes, { shots: 0, valPerClass: 1, seed: 0 }), /--shots must be a whole number >= 1, got 0/);
  assert.throws(() => fewShotSplit(labels, classes, { shots: 2.5, valPerClass: 1, seed: 0 }), /--shots/);
  assert.throws(() => fewShotSplit(labels, classes, { shots: 2, valPerClass: -1, seed: 0 }), /--val-per-class/);
});
