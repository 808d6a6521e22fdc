/** Image dimensions from headers: one real file per format, and garbage refused. */
import assert from 'node:assert/strict';
import { imageSize } from './image-size.ts';

const b64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const PNG_1x1 = b64(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
);
const GIF_1x1 = b64('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==');
/** Bytes of a file header with `fields` written at their offsets. */
function header(length: number, fields: [number, number[]][]): Uint8Array {
  const out = new Uint8Array(length);
  for (const [at, bytes] of fields) out.set(bytes, at);
  return out;
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('image size', () => {
  it('reads PNG and GIF headers', () => {
    assert.deepEqual(imageSize(PNG_1x1, 'image/png'), { width: 1, height: 1 });
    assert.deepEqual(imageSize(GIF_1x1, 'image/gif'), { width: 1, height: 1 });
  });

  it('finds the frame header of a JPEG past its APP segments', () => {
    const jpeg = header(40, [
      [0, [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]], // SOI, APP0 of 16 bytes
      [20, [0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80]], // SOF0: 8 bits, 480 high, 640 wide
    ]);
    assert.deepEqual(imageSize(jpeg, 'image/jpeg'), { width: 640, height: 480 });
    assert.equal(imageSize(header(40, [[0, [0xff, 0xd8, 0xff, 0xda, 0, 2]]]), 'image/jpeg'), undefined);
  });

  it('reads the three kinds of WebP', () => {
    const riff = (kind: string, fields: [number, number[]][]) =>
      header(32, [[0, ascii('RIFF')], [8, ascii('WEBP')], [12, ascii(kind)], ...fields]);
    assert.deepEqual(imageSize(riff('VP8X', [[24, [0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00]]]), 'image/webp'), {
      width: 640,
      height: 480,
    });
    assert.deepEqual(imageSize(riff('VP8 ', [[26, [0x80, 0x02, 0xe0, 0x01]]]), 'image/webp'), {
      width: 640,
      height: 480,
    });
    // VP8L: 14 bits of width − 1 (639), then 14 bits of height − 1 (479).
    const bits = 639 | (479 << 14);
    assert.deepEqual(
      imageSize(
        riff('VP8L', [[20, [0x2f, bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24]]]),
        'image/webp',
      ),
      { width: 640, height: 480 },
    );
  });

  it('gives undefined for other types, truncated headers and zero sizes', () => {
    assert.equal(imageSize(PNG_1x1, 'image/gif'), undefined);
    assert.equal(imageSize(PNG_1x1, 'image/svg+xml'), undefined);
    assert.equal(imageSize(PNG_1x1.subarray(0, 20), 'image/png'), undefined);
    assert.equal(imageSize(new Uint8Array(0), 'image/jpeg'), undefined);
    const zero = PNG_1x1.slice();
    zero.fill(0, 16, 20);
    assert.equal(imageSize(zero, 'image/png'), undefined);
  });
});
