/**
 * Files in messages end to end against a real signal server: A sends an image and a
 * multi-chunk file, B opens the exact bytes; in A's DM with B, C (a member, not a
 * reader) gets neither the key nor the chunks; the key never reaches the view model;
 * files over the server's limit are refused before any upload; fetched bytes are
 * cached; the server's files never hold the plaintext.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, toBase64url, utf8 } from '../../crypto/bytes.ts';
import { FILE_CHUNK_SIZE, SEALED_CHUNK_SIZE } from '../../crypto/file.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, filesContaining, session, textChannel } from './testing.ts';

/** A 1×1 PNG whose pixel data is followed by a canary (after IEND, as trailing bytes). */
const CANARY = `canary-image-${toBase64url(randomBytes(9))}`;
const PNG = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='),
  (c) => c.charCodeAt(0),
);
const image = new Uint8Array([...PNG, ...utf8(CANARY)]);

async function bytesOf(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

describe('conversations with files', () => {
  const a = member(['admin'], 'alice');
  const b = member(['member'], 'bob');
  const c = member(['member'], 'carol');
  const maxUploadBytes = 4 * SEALED_CHUNK_SIZE;
  let dataDir: string;
  let t: TestServer;
  let sa: ServerSession;
  let sb: ServerSession;
  let sc: ServerSession;
  let channel: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-files-'));
    t = await startTestServer({
      dataDir,
      authorizedKeys: a.line + b.line + c.line,
      overrides: { maxUploadBytes },
    });
    channel = textChannel(t);
    sa = await session(t, a.identity);
    sb = await session(t, b.identity);
    sc = await session(t, c.identity);
  });
  after(async () => {
    for (const s of [sa, sb, sc]) s.close();
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("lets B open A's image and a multi-chunk file, byte for byte, without ever seeing a key", async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    const big = randomBytes(65536);
    const file = new Uint8Array(95_536); // 3 chunks
    file.set(big);
    file.set(big.subarray(0, 30_000), 65536);
    await ca.send('look', {
      files: [new File([image], 'dot.png', { type: 'image/png' }), new File([file], 'data.bin')],
    });
    const m = await eventually(() => {
      const found = cb.messages.value.find((x) => x.text === 'look');
      assert.ok(found, 'B sees the post');
      return found;
    });
    assert.equal(m.author, a.key);
    assert.deepEqual(
      m.attachments.map((x) => [x.name, x.mime, x.size]),
      [
        ['dot.png', 'image/png', image.length],
        ['data.bin', 'application/octet-stream', file.length],
      ],
    );
    assert.deepEqual(
      [m.attachments[0]!.width, m.attachments[0]!.height],
      [1, 1],
      'PNG size read from the header',
    );
    for (const x of m.attachments)
      assert.deepEqual(
        Object.keys(x).sort(),
        x.width ? ['height', 'id', 'mime', 'name', 'size', 'width'] : ['id', 'mime', 'name', 'size'],
        'no key in the view',
      );
    assert.ok(!JSON.stringify(cb.messages.value).includes('"key"'), 'no key anywhere in the view model');
    const png = await cb.attachment(m.id, m.attachments[0]!.id);
    assert.equal(png.type, 'image/png');
    assert.deepEqual(await bytesOf(png), image);
    const bin = await cb.attachment(m.id, m.attachments[1]!.id);
    assert.equal(bin.type, 'application/octet-stream');
    assert.deepEqual(await bytesOf(bin), file);
    const stored = t.server.hub.store.blobFile(m.attachments[1]!.id)!;
    assert.deepEqual([stored.chunks, stored.stored, stored.uploader], [3, 3, a.key]);
  });

  it('caches what it fetched: a re-render does not ask the server again', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await ca.send('cached', {
      files: [new File([new Uint8Array(randomBytes(FILE_CHUNK_SIZE + 1))], 'twice.bin')],
    });
    const m = await eventually(() => {
      const found = cb.messages.value.find((x) => x.text === 'cached');
      assert.ok(found, 'B sees the post');
      return found;
    });
    const gets: unknown[] = [];
    const request = sb.conn.request.bind(sb.conn);
    sb.conn.request = (type, fields) => {
      if (type === 'blob.get') gets.push(fields?.index);
      return request(type, fields);
    };
    const id = m.attachments[0]!.id;
    const [one, two] = await Promise.all([cb.attachment(m.id, id), cb.attachment(m.id, id)]);
    const three = await cb.attachment(m.id, id);
    assert.deepEqual(gets.sort(), [0, 1], 'each chunk fetched once');
    assert.deepEqual(await bytesOf(one), await bytesOf(three));
    assert.deepEqual(await bytesOf(two), await bytesOf(three));
    sb.conn.request = request;
    // The sender holds its own bytes from the upload.
    const mine = sa.open(channel).messages.value.find((x) => x.text === 'cached')!;
    assert.equal((await sa.open(channel).attachment(mine.id, id)).size, FILE_CHUNK_SIZE + 1);
  });

  it("keeps a DM's files from a member who is not in it: no key, no chunks", async () => {
    const dm = sa.dmWith(b.key);
    const ca = sa.open(dm);
    const cb = sb.open(dm);
    await ca.send('just us', { files: [new File([image], 'secret.png', { type: 'image/png' })] });
    const m = await eventually(() => {
      const found = cb.messages.value.find((x) => x.text === 'just us');
      assert.ok(found, 'B sees the post');
      return found;
    });
    const id = m.attachments[0]!.id;
    assert.deepEqual(await bytesOf(await cb.attachment(m.id, id)), image, 'B opens it');
    const cc = sc.conversation(dm);
    await assert.rejects(cc.attachment(m.id, id), { code: 'NOT_FOUND' }, 'C has no post, so no key');
    await assert.rejects(
      sc.conn.request('blob.get', { log: dm, file: id, index: 0 }),
      (e) => (e as ProtocolError).code === 'NOT_ALLOWED',
      'and the server gives C no chunk',
    );
    await assert.rejects(cb.attachment(m.id, 'A'.repeat(22)), { code: 'NOT_FOUND' }, 'an unknown attachment');
  });

  it("refuses a file over the server's limit before uploading anything", async () => {
    const ca = sa.open(channel);
    const puts: unknown[] = [];
    const enqueue = sa.conn.enqueue.bind(sa.conn);
    sa.conn.enqueue = (type, fields) => {
      puts.push(type);
      return enqueue(type, fields);
    };
    const fits = new File([new Uint8Array(4 * FILE_CHUNK_SIZE)], 'fits.bin');
    const over = new File([new Uint8Array(4 * FILE_CHUNK_SIZE + 1)], 'over.bin');
    await assert.rejects(ca.send('too big', { files: [fits, over] }), { code: 'TOO_LARGE' });
    assert.deepEqual(puts, [], 'nothing was sent');
    await assert.rejects(
      ca.send('too many', { files: Array.from({ length: 11 }, () => new File(['x'], 'x.txt')) }),
      { code: 'TOO_LARGE' },
    );
    await ca.send('fits', { files: [fits] });
    assert.equal(puts.filter((p) => p === 'blob.put').length, 4, 'the largest file that fits is stored');
    sa.conn.enqueue = enqueue;
  });

  it('never writes the image bytes to the server’s data directory', async () => {
    await sa.settled();
    assert.deepEqual(await filesContaining(dataDir, CANARY), []);
    assert.ok(!t.logs.some((l) => l.includes(CANARY)), 'no canary in the logs');
  });
});
