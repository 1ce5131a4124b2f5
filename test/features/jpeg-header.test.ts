import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { jpegHeader } from '../../src/features/jpeg-header.ts';

const pixels = (w: number, h: number) => sharp(Buffer.alloc(w * h * 3, 90), { raw: { width: w, height: h, channels: 3 } });

/** A JPEG with one extra APP1 Exif segment right after SOI. */
function withExif(jpeg: Buffer, tiff: number[]): Buffer {
  const body = [...Buffer.from('Exif\0\0', 'latin1'), ...tiff];
  const len = body.length + 2;
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xe1, len >> 8, len & 0xff, ...body]), jpeg.subarray(2)]);
}

/** A big-endian TIFF block whose IFD0 holds one entry: orientation (tag 0x0112, SHORT). */
const bigEndianOrientation = (o: number) => [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0, 0, 0];

test('size and EXIF orientation agree with sharp for baseline, progressive and every orientation', async () => {
  for (const progressive of [false, true]) {
    for (let o = 1; o <= 8; o++) {
      const bytes = await pixels(37, 21).jpeg({ progressive }).withMetadata({ orientation: o }).toBuffer();
      const meta = await sharp(bytes).metadata();
      assert.deepEqual(jpegHeader(bytes), { width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 }, `orientation ${o}, progressive ${progressive}`);
    }
  }
  const plain = await pixels(300, 2).jpeg().toBuffer();
  assert.deepEqual(jpegHeader(plain), { width: 300, height: 2, orientation: 1 });
});

test('a big-endian EXIF block is read as sharp reads it', async () => {
  const bytes = withExif(await pixels(12, 30).jpeg().toBuffer(), bigEndianOrientation(6));
  assert.equal((await sharp(bytes).metadata()).orientation, 6);
  assert.deepEqual(jpegHeader(bytes), { width: 12, height: 30, orientation: 6 });
});

test('anything not fully understood is left to sharp: other formats, truncation, malformed EXIF', async () => {
  const jpeg = await pixels(8, 8).jpeg().toBuffer();
  assert.equal(jpegHeader(await pixels(8, 8).png().toBuffer()), undefined);
  assert.equal(jpegHeader(jpeg.subarray(0, 12)), undefined);
  assert.equal(jpegHeader(new Uint8Array(0)), undefined);
  assert.equal(jpegHeader(withExif(jpeg, [0x41, 0x42, 0, 42])), undefined, 'not a TIFF header');
  assert.equal(jpegHeader(withExif(jpeg, bigEndianOrientation(9))), undefined, 'orientation out of range');
});
