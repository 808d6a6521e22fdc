/**
 * The ciphertext logs through a real server: append, push, catch-up, scroll-back,
 * compaction, DM privacy, restart, and a canary that must never reach the disk.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seal } from '../crypto/aead.ts';
import { randomBytes, toBase64url, utf8 } from '../crypto/bytes.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { connect, member, nextMessage, startTestServer, type TestServer } from '../test/helpers/signal.ts';

const codeOf = (e: unknown) => (e as ProtocolError).code;
const id = () => toBase64url(randomBytes(16));

describe('ciphertext logs', () => {
  const alice = member(['member'], 'alice');
  const bob = member(['member'], 'bob');
  const eve = member(['member'], 'eve');
  const guest = member(['guest'], 'guest');
  let dataDir: string;
  let t: TestServer;
  let channel: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-logs-'));
    t = await startTestServer({ dataDir, authorizedKeys: alice.line + bob.line + eve.line + guest.line });
    channel = t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
  });
  after(async () => {
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('appends, pushes to readers, and is idempotent on the client id', async () => {
    const a = await connect(t, alice.identity);
    const b = await connect(t, bob.identity);
    const pushed = nextMessage(b, 'log', (m) => m.log === channel);
    const entryId = id();
    const blob = toBase64url(randomBytes(100));
    const first = await a.request('log.append', { log: channel, kind: 'update', blob, id: entryId });
    const push = await pushed;
    assert.equal(push.seq, first.seq);
    assert.equal(push.blob, blob);
    assert.equal(push.author, alice.key);
    const again = await a.request('log.append', { log: channel, kind: 'update', blob, id: entryId });
    assert.equal(again.seq, first.seq);
    assert.equal(again.duplicate, true);
    a.close();
    b.close();
  });

  it('pages forward (catch-up) and backward (scroll-back) by cursor, and compacts', async () => {
    const a = await connect(t, alice.identity);
    const log = channel;
    const seqs: number[] = [];
    for (let i = 0; i < 30; i++) {
      seqs.push(
        Number(
          (
            await a.request('log.append', {
              log,
              kind: 'update',
              blob: toBase64url(randomBytes(20)),
              id: id(),
            })
          ).seq,
        ),
      );
    }
    const after = (await a.request('log.fetch', { log, after: seqs[9], limit: 5 })).entries as {
      seq: number;
    }[];
    assert.deepEqual(
      after.map((e) => e.seq),
      seqs.slice(10, 15),
    );
    const before = (await a.request('log.fetch', { log, before: seqs[29], limit: 3 })).entries as {
      seq: number;
    }[];
    assert.deepEqual(
      before.map((e) => e.seq),
      [seqs[28], seqs[27], seqs[26]],
      'newest first when scrolling back',
    );
    await a.request('log.compact', { log, upTo: seqs[19], blob: toBase64url(randomBytes(40)) });
    const all = (await a.request('log.fetch', { log, after: 0, limit: 500 })).entries as {
      seq: number;
      kind: string;
    }[];
    const snapshot = all.findIndex((e) => e.kind === 'snapshot');
    assert.equal(all[snapshot]?.seq, seqs[19], 'the snapshot takes the highest seq it replaced');
    assert.ok(!all.some((e) => e.seq > seqs[0]! && e.seq < seqs[19]!), 'the replaced updates are gone');
    assert.deepEqual(
      all.slice(snapshot + 1).map((e) => e.seq),
      seqs.slice(20),
      'entries after the snapshot keep their seq',
    );
    await assert.rejects(
      a.request('log.fetch', { log, after: 1, before: 5, limit: 5 }),
      (e) => codeOf(e) === 'BAD_MESSAGE',
    );
    a.close();
  });

  it('keeps a DM between its two members: others can neither read nor write it', async () => {
    const [lo, hi] = [alice.key, bob.key].sort();
    const dm = `dm:${lo}:${hi}`;
    const a = await connect(t, alice.identity);
    const b = await connect(t, bob.identity);
    const e = await connect(t, eve.identity);
    const strays: unknown[] = [];
    e.on('log', (m) => strays.push(m));
    const pushed = nextMessage(b, 'log', (m) => m.log === dm);
    await a.request('log.append', { log: dm, kind: 'update', blob: toBase64url(randomBytes(10)), id: id() });
    await pushed;
    await assert.rejects(
      e.request('log.fetch', { log: dm, after: 0, limit: 10 }),
      (err) => codeOf(err) === 'NOT_ALLOWED',
    );
    await assert.rejects(
      e.request('log.append', { log: dm, kind: 'update', blob: 'AA', id: id() }),
      (err) => codeOf(err) === 'NOT_ALLOWED',
    );
    assert.deepEqual(strays, [], 'eve received no DM entry');
    for (const c of [a, b, e]) c.close();
  });

  it('refuses writes without the send permission and to unknown logs', async () => {
    const g = await connect(t, guest.identity);
    // Guests may send by default; an unknown channel is NOT_FOUND whoever asks.
    await assert.rejects(
      g.request('log.append', { log: 'nosuch', kind: 'update', blob: 'AA', id: id() }),
      (e) => codeOf(e) === 'NOT_FOUND',
    );
    g.close();
  });

  it('answers a blob that is not canonical base64url with BAD_MESSAGE, and keeps serving', async () => {
    const a = await connect(t, alice.identity);
    // "AB" decodes with stray low bits (canonical is "AA"); "A" is not a whole byte.
    for (const blob of ['AB', 'A'])
      await assert.rejects(
        a.request('log.append', { log: channel, kind: 'update', blob, id: id() }),
        (e) => codeOf(e) === 'BAD_MESSAGE',
        `blob ${JSON.stringify(blob)} should be BAD_MESSAGE, not INTERNAL`,
      );
    const ok = await a.request('log.append', { log: channel, kind: 'update', blob: 'AA', id: id() });
    assert.equal(typeof ok.seq, 'number', 'the session still appends');
    a.close();
  });

  it('never writes a canary plaintext to the data dir, and keeps the log across a restart', async () => {
    const canary = `CANARY-${toBase64url(randomBytes(12))}`;
    const key = randomBytes(32);
    const sealed = seal(key, utf8(canary), utf8(channel)); // what a client sends: ciphertext only
    const a = await connect(t, alice.identity);
    const { seq } = await a.request('log.append', {
      log: channel,
      kind: 'update',
      blob: toBase64url(sealed),
      id: id(),
    });
    a.close();
    await t.close();
    const files = await readdir(dataDir);
    for (const f of files) {
      const bytes = await readFile(join(dataDir, f)).catch(() => undefined);
      if (!bytes) continue;
      assert.equal(bytes.includes(canary), false, `${f} contains the canary plaintext`);
    }
    t = await startTestServer({ dataDir, authorizedKeys: alice.line + bob.line + eve.line + guest.line });
    const again = await connect(t, alice.identity);
    const entries = (await again.request('log.fetch', { log: channel, before: Number(seq) + 1, limit: 1 }))
      .entries as {
      blob: string;
    }[];
    assert.equal(entries[0]?.blob, toBase64url(sealed), 'the ciphertext survived the restart');
    assert.ok(t.server.hub.channels.get(channel), 'so did the channel tree');
    again.close();
  });
});
