/** Attachment metadata as readers check it, the public view, and names and types made safe. */
import assert from 'node:assert/strict';
import { FILE_CHUNK_SIZE } from '../../crypto/file.ts';
import { MAX_ATTACHMENTS, readAttachments, safeMime, safeName, viewOf } from './attachments.ts';

const valid = {
  id: 'A'.repeat(22),
  name: 'cat.png',
  mime: 'image/png',
  size: FILE_CHUNK_SIZE + 1,
  width: 640,
  height: 480,
  key: 'B'.repeat(43),
  chunks: 2,
  sha256: 'C'.repeat(43),
};

describe('attachment metadata', () => {
  it('reads well-formed entries and drops the rest, field by field', () => {
    assert.deepEqual(readAttachments([valid]), [valid]);
    const bad: Record<string, unknown[]> = {
      id: [undefined, 'A'.repeat(21), 'A'.repeat(23), `${'A'.repeat(21)}+`],
      key: [undefined, 'B'.repeat(42), 7],
      sha256: [null, 'C'.repeat(44)],
      name: ['', ' padded ', 'a/b.png', 'evil\u202egnp.exe', 5],
      mime: ['', 'image', 'IMAGE/PNG', 'text/html; charset=utf-8', {}],
      size: [-1, 1.5, '1', 2 ** 60],
      chunks: [1, 3, '2', undefined],
    };
    for (const [field, values] of Object.entries(bad))
      for (const value of values)
        assert.deepEqual(
          readAttachments([{ ...valid, [field]: value }]),
          [],
          `${field} = ${JSON.stringify(value)}`,
        );
    for (const value of [null, 'x', [valid]]) assert.deepEqual(readAttachments([value]), []);
    for (const value of [undefined, null, {}, 'x']) assert.deepEqual(readAttachments(value), []);
  });

  it('keeps width and height only as a pair of sane dimensions', () => {
    for (const [width, height] of [
      [0, 10],
      [10, 70_000],
      [1.5, 2],
      [10, undefined],
    ]) {
      const [read] = readAttachments([{ ...valid, width, height }]);
      assert.equal(read?.width, undefined);
      assert.equal(read?.height, undefined);
    }
  });

  it('reads at most MAX_ATTACHMENTS', () => {
    assert.equal(readAttachments(Array.from({ length: 20 }, () => valid)).length, MAX_ATTACHMENTS);
  });

  it('shows components the public part only', () => {
    assert.deepEqual(viewOf(valid), {
      id: valid.id,
      name: 'cat.png',
      mime: 'image/png',
      size: valid.size,
      width: 640,
      height: 480,
    });
    const { width: _w, height: _h, ...plain } = valid;
    assert.deepEqual(Object.keys(viewOf(plain)).sort(), ['id', 'mime', 'name', 'size']);
  });

  it('makes names and types safe to show and to save', () => {
    assert.equal(safeName('../../etc/passwd'), '....etcpasswd');
    assert.equal(safeName('photo\u202egpj.exe'), 'photogpj.exe');
    assert.equal(safeName('  \u0000 '), 'file');
    assert.equal(safeName('x'.repeat(300)).length, 255);
    assert.equal(safeMime('Image/PNG'), 'image/png');
    assert.equal(safeMime('text/plain; charset=utf-8'), 'text/plain');
    assert.equal(safeMime(''), 'application/octet-stream');
    assert.equal(safeMime('not a type'), 'application/octet-stream');
  });
});
