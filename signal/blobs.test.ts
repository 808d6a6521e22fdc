/**
 * The blob store through a real server and real SQLite: put/get, immutability, one
 * uploader per file, DM privacy, the upload permission and limits, the log quota,
 * deletion with the channel, and a canary that must never reach the disk.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64url, randomBytes, toBase64url, utf8 } from '../crypto/bytes.ts';
import {
  FILE_CHUNK_OVERHEAD,
  FILE_CHUNK_SIZE,
  newFileSecrets,
  openFileChunk,
  SEALED_CHUNK_SIZE,
  sealFileChunk,
} from '../crypto/file.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { connect, member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import type { SignalClient } from '../web/net/signal-client.ts';

const codeOf = (e: unknown) => (e as ProtocolError).code;
const fileId = () => toBase64url(randomBytes(16));
const chunk = (length = SEALED_CHUNK_SIZE) => toBase64url(randomBytes(length));
const refuses = (p: Promise<unknown>, code: string, what: string) =>
  assert.rejects(p, (e) => codeOf(e) === code || assert.fail(`${what}: expected ${code}, got ${codeOf(e)}`));
/** Uploads `count` chunks (all full but a short last one); returns their data. */
async function upload(
  c: SignalClient,
  log: string,
  file: string,
  count: number,
  last = 100,
): Promise<string[]> {
  const data: string[] = [];
  for (let index = 0; index < count; index++) {
    data.push(chunk(index === count - 1 ? last : SEALED_CHUNK_SIZE));
    await c.request('blob.put', { log, file, index, count, data: data[index] });
  }
  return data;
}

describe('blob store', () => {
  const admin = member(['admin'], 'admin');
  const alice = member(['member'], 'alice');
  const bob = member(['member'], 'bob');
  const eve = member(['member'], 'eve');
  const guest = member(['guest'], 'guest');
  const keys = admin.line + alice.line + bob.line + eve.line + guest.line;
  /** Three full chunks: a file of 4 chunks is over it from its first chunk. */
  const maxUploadBytes = 3 * SEALED_CHUNK_SIZE;
  const maxLogBytes = 4 * SEALED_CHUNK_SIZE + 100;
  /** Many short connections from 127.0.0.1: more than the default per-address auth budget. */
  const overrides = { maxUploadBytes, maxLogBytes, authAttemptsPerIp: { perSecond: 100, burst: 100 } };
  const dm = (x: { key: string }, y: { key: string }) => `dm:${[x.key, y.key].sort().join(':')}`;
  let dataDir: string;
  let t: TestServer;
  /** A fresh channel per test, so each has the whole log quota. */
  let channel: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-blobs-'));
    t = await startTestServer({ dataDir, authorizedKeys: keys, overrides });
  });
  beforeEach(async () => {
    const root = await connect(t, admin.identity);
    channel = String((await root.request('channel.create', { name: 'files', kind: 'text' })).channel);
    root.close();
  });
  after(async () => {
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores full-size chunks and gives them back to readers; a re-put of the same bytes is idempotent', async () => {
    const a = await connect(t, alice.identity);
    const b = await connect(t, bob.identity);
    const file = fileId();
    const data = await upload(a, channel, file, 2);
    for (const [index, expected] of data.entries()) {
      const got = await b.request('blob.get', { log: channel, file, index });
      assert.equal(got.data, expected, `chunk ${index}`);
    }
    const again = await a.request('blob.put', { log: channel, file, index: 0, count: 2, data: data[0] });
    assert.equal(again.duplicate, true);
    const stored = t.server.hub.store.blobFile(file)!;
    assert.deepEqual(
      { uploader: stored.uploader, chunks: stored.chunks, stored: stored.stored, bytes: stored.bytes },
      { uploader: alice.key, chunks: 2, stored: 2, bytes: SEALED_CHUNK_SIZE + 100 },
    );
    await refuses(b.request('blob.get', { log: channel, file, index: 2 }), 'NOT_FOUND', 'past the end');
    await refuses(b.request('blob.get', { log: channel, file: fileId(), index: 0 }), 'NOT_FOUND', 'no file');
    a.close();
    b.close();
  });

  it('refuses to change a stored chunk, and lets only the uploader add to a file', async () => {
    const a = await connect(t, alice.identity);
    const b = await connect(t, bob.identity);
    const file = fileId();
    await a.request('blob.put', { log: channel, file, index: 0, count: 2, data: chunk() });
    await refuses(
      a.request('blob.put', { log: channel, file, index: 0, count: 2, data: chunk() }),
      'CONFLICT',
      'overwrite',
    );
    await refuses(
      b.request('blob.put', { log: channel, file, index: 1, count: 2, data: chunk(50) }),
      'NOT_ALLOWED',
      'another uploader',
    );
    await refuses(
      b.request('blob.put', { log: channel, file, index: 0, count: 2, data: chunk() }),
      'NOT_ALLOWED',
      'another uploader overwriting',
    );
    await refuses(
      a.request('blob.put', { log: channel, file, index: 1, count: 3, data: chunk() }),
      'CONFLICT',
      'another count',
    );
    await refuses(
      a.request('blob.put', { log: dm(alice, bob), file, index: 1, count: 2, data: chunk(50) }),
      'CONFLICT',
      'another log',
    );
    a.close();
    b.close();
  });

  it('keeps a DM’s blobs between its two members', async () => {
    const a = await connect(t, alice.identity);
    const b = await connect(t, bob.identity);
    const e = await connect(t, eve.identity);
    const log = dm(alice, bob);
    const file = fileId();
    const [data] = await upload(a, log, file, 1);
    assert.equal((await b.request('blob.get', { log, file, index: 0 })).data, data);
    await refuses(e.request('blob.get', { log, file, index: 0 }), 'NOT_ALLOWED', 'eve reads the DM');
    await refuses(
      e.request('blob.put', { log, file: fileId(), index: 0, count: 1, data: chunk(50) }),
      'NOT_ALLOWED',
      'eve writes the DM',
    );
    await refuses(
      e.request('blob.get', { log: channel, file, index: 0 }),
      'NOT_FOUND',
      'named by another log',
    );
    for (const c of [a, b, e]) c.close();
  });

  it('needs the upload permission to put, not to get', async () => {
    const a = await connect(t, alice.identity);
    const g = await connect(t, guest.identity);
    const file = fileId();
    const [data] = await upload(a, channel, file, 1);
    await refuses(
      g.request('blob.put', { log: channel, file: fileId(), index: 0, count: 1, data: chunk(50) }),
      'NOT_ALLOWED',
      'guest upload',
    );
    assert.equal((await g.request('blob.get', { log: channel, file, index: 0 })).data, data);
    await refuses(
      a.request('blob.put', { log: 'nosuch', file: fileId(), index: 0, count: 1, data: chunk(50) }),
      'NOT_FOUND',
      'unknown channel',
    );
    a.close();
    g.close();
  });

  it('refuses files over the upload limit before storing them, and chunks of the wrong size', async () => {
    const a = await connect(t, alice.identity);
    const put = (fields: Record<string, unknown>) =>
      a.request('blob.put', { log: channel, file: fileId(), index: 0, count: 1, data: chunk(50), ...fields });
    await refuses(put({ count: 4, data: chunk() }), 'TOO_LARGE', 'four chunks');
    await refuses(put({ count: 4, index: 3 }), 'TOO_LARGE', 'four chunks, last first');
    await refuses(put({ count: 5000, index: 10, data: chunk() }), 'TOO_LARGE', 'many chunks');
    // Three chunks fit exactly when full; a last one beyond fills nothing more.
    const file = fileId();
    await upload(a, channel, file, 3, SEALED_CHUNK_SIZE);
    await refuses(
      put({ data: chunk(SEALED_CHUNK_SIZE - 1), count: 2 }),
      'BAD_MESSAGE',
      'a short middle chunk',
    );
    await refuses(put({ data: chunk(SEALED_CHUNK_SIZE + 1) }), 'BAD_MESSAGE', 'an oversized chunk');
    await refuses(put({ data: chunk(FILE_CHUNK_OVERHEAD - 1) }), 'BAD_MESSAGE', 'a last chunk too short');
    await refuses(put({ index: 1, count: 1 }), 'BAD_MESSAGE', 'index past count');
    await refuses(put({ data: 'A' }), 'BAD_MESSAGE', 'not base64url');
    a.close();
  });

  it('counts blobs into the log’s quota and refuses a full log with STORE_FULL', async () => {
    const a = await connect(t, alice.identity);
    const log = dm(alice, eve);
    await upload(a, log, fileId(), 3, SEALED_CHUNK_SIZE);
    const file = fileId();
    await a.request('blob.put', { log, file, index: 0, count: 2, data: chunk() });
    assert.equal(t.server.hub.store.logBytes(log), 4 * SEALED_CHUNK_SIZE, 'blob bytes counted');
    await refuses(
      a.request('blob.put', { log, file, index: 1, count: 2, data: chunk(200) }),
      'STORE_FULL',
      'past maxLogBytes',
    );
    await refuses(
      a.request('log.append', { log, kind: 'update', blob: toBase64url(randomBytes(200)), id: fileId() }),
      'STORE_FULL',
      'entries share the quota',
    );
    a.close();
  });

  it('drops a channel’s blobs with the channel', async () => {
    const root = await connect(t, admin.identity);
    const a = await connect(t, alice.identity);
    const { channel: doomed } = await root.request('channel.create', { name: 'doomed', kind: 'text' });
    const file = fileId();
    await upload(a, String(doomed), file, 2);
    assert.equal(t.server.hub.store.blobFile(file)?.stored, 2);
    await root.request('channel.delete', { channel: doomed });
    assert.equal(t.server.hub.store.blobFile(file), undefined, 'the file is gone');
    assert.equal(t.server.hub.store.logBytes(String(doomed)), 0, 'and the log');
    root.close();
    a.close();
  });

  it('never writes a canary plaintext to the data dir, and keeps blobs across a restart', async () => {
    const canary = `CANARY-${toBase64url(randomBytes(12))}`;
    const plaintext = new Uint8Array(FILE_CHUNK_SIZE + 10);
    for (let at = 0; at + canary.length <= plaintext.length; at += canary.length)
      plaintext.set(utf8(canary), at);
    const { key, id } = newFileSecrets();
    const file = toBase64url(id);
    const sealed = [
      sealFileChunk(key, id, 0, 2, plaintext.subarray(0, FILE_CHUNK_SIZE)),
      sealFileChunk(key, id, 1, 2, plaintext.subarray(FILE_CHUNK_SIZE)),
    ];
    const a = await connect(t, alice.identity);
    for (const [index, s] of sealed.entries())
      await a.request('blob.put', { log: channel, file, index, count: 2, data: toBase64url(s) });
    a.close();
    await t.close();
    for (const f of await readdir(dataDir)) {
      const bytes = await readFile(join(dataDir, f)).catch(() => undefined);
      if (!bytes) continue;
      assert.equal(bytes.includes(canary), false, `${f} contains the canary plaintext`);
    }
    t = await startTestServer({ dataDir, authorizedKeys: keys, overrides });
    const b = await connect(t, bob.identity);
    const got = await b.request('blob.get', { log: channel, file, index: 1 });
    const opened = openFileChunk(key, id, 1, 2, fromBase64url(String(got.data)));
    assert.deepEqual(opened, plaintext.subarray(FILE_CHUNK_SIZE), 'the reader opens it after the restart');
    b.close();
  });
});
