/**
 * loadMnist reads the mnist package's digit files with plainDecimals instead of JSON.parse: every value of every file
 * is the double JSON.parse gives, and what is not a file of plain decimals is left to JSON.parse.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { plainDecimals } from '../../src/data/mnist.ts';

const require = createRequire(import.meta.url);
const bytes = (text: string) => new TextEncoder().encode(text);

test('plainDecimals reads each of the 10 digit files to the very doubles JSON.parse gives (7.84 million values)', () => {
  for (let digit = 0; digit < 10; digit++) {
    const file = readFileSync(require.resolve(`mnist/src/digits/${digit}.json`));
    const want = (JSON.parse(file.toString('utf8')) as { data: number[] }).data;
    const got = plainDecimals(file);
    assert.ok(got, `digit ${digit}`);
    assert.equal(got.length, want.length);
    const differ = want.findIndex((v, i) => !Object.is(v, got[i]));
    assert.equal(differ, -1, `digit ${digit}: value ${differ} is ${got[differ]}, JSON.parse gives ${want[differ]}`);
  }
});

test('plainDecimals leaves to JSON.parse what is not plain decimals: signs, exponents, other keys, an empty value, 16 digits', () => {
  assert.deepEqual(plainDecimals(bytes('{ "data": [0,0.2,1,0.624,0.999]}')), new Float64Array([0, 0.2, 1, 0.624, 0.999]));
  for (const text of ['{ "data": [0,-1]}', '{ "data": [1e3]}', '{ "other": [1]}', '{ "data": [1,,2]}', '{ "data": [0.1234567890123456]}', '{ "data": [1]} x', '{ "data": [1']) {
    assert.equal(plainDecimals(bytes(text)), undefined, text);
  }
});
