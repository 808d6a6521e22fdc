/**
 * A full disk under a running server: its data dir sits on a 4 MiB tmpfs mounted by
 * the test, and a member appends incompressible ciphertext until the disk is full.
 * Expected: writes are refused with the typed `STORE_FULL` (never `INTERNAL`, never a
 * crash); reads keep working for everyone, and another member can still connect;
 * every entry the server said it stored is there, in order, byte for byte; and once
 * space is freed (a ballast file is deleted), writes work again. `PRAGMA integrity_check` is `ok` afterwards.
 *
 * Needs root (mount -t tmpfs). Where it cannot mount, it skips and says why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { DB_FILE } from '../../signal/store/store.ts';
import { connect, member, startTestServer, type TestServer } from '../helpers/signal.ts';

const DISK = '4m';
/** Entries of 40 KiB (54 KiB of base64: under the 64 KiB frame); ~90 fill the disk. */
const ENTRY_BYTES = 40 * 1024;
const MAX_APPENDS = 200;
const BALLAST_BYTES = 512 * 1024;

function mountTmpfs(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}): needs root`;
  }
}

const mountPoint = mkdtempSync(join(tmpdir(), 'tincan-diskfull-'));
const skip = mountTmpfs(mountPoint);

describe('a full disk under a running server', () => {
  const alice = member(['admin'], 'alice');
  const bob = member(['member'], 'bob');
  let t: TestServer | undefined;

  after(async () => {
    await t?.close();
    if (!skip) execFileSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('refuses writes with STORE_FULL, keeps serving, loses nothing, and writes again once freed', {
    skip,
  }, async (test) => {
    const dataDir = join(mountPoint, 'data');
    await mkdir(dataDir);
    // Room an operator can free later, as one deletes old logs on a full disk.
    await writeFile(join(mountPoint, 'ballast'), nodeRandomBytes(BALLAST_BYTES));
    t = await startTestServer({ dataDir, authorizedKeys: alice.line + bob.line });
    const channel = t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
    const a = await connect(t, alice.identity);
    const stored: { seq: number; blob: string }[] = [];
    let refusal: ProtocolError | undefined;
    for (let i = 0; i < MAX_APPENDS && !refusal; i++) {
      const blob = toBase64url(randomBytes(ENTRY_BYTES));
      try {
        const reply = await a.request('log.append', {
          log: channel,
          kind: 'update',
          blob,
          id: toBase64url(randomBytes(16)),
        });
        stored.push({ seq: reply.seq as number, blob });
      } catch (error) {
        refusal = error as ProtocolError;
      }
    }
    assert.ok(refusal, `the disk should fill within ${MAX_APPENDS} appends of ${ENTRY_BYTES} bytes`);
    assert.equal(
      refusal.code,
      'STORE_FULL',
      `a full disk is STORE_FULL, got ${refusal.code}: ${refusal.message}`,
    );
    assert.ok(stored.length > 10, `some entries were stored first (${stored.length})`);
    test.diagnostic(
      `${stored.length} entries of ${ENTRY_BYTES} bytes stored before STORE_FULL on a ${DISK} tmpfs`,
    );

    // Still serving: the writer's session reads, and another member connects and reads.
    const b = await connect(t, bob.identity);
    for (const client of [a, b]) {
      const reply = await client.request('log.fetch', { log: channel, after: 0, limit: 500 });
      const entries = reply.entries as { seq: number; blob: string }[];
      assert.deepEqual(
        entries.map((e) => [e.seq, e.blob]),
        stored.map((e) => [e.seq, e.blob]),
        'every acknowledged entry is stored, in order, byte for byte',
      );
    }

    await unlink(join(mountPoint, 'ballast'));
    const again = await a.request('log.append', {
      log: channel,
      kind: 'update',
      blob: toBase64url(randomBytes(1024)),
      id: toBase64url(randomBytes(16)),
    });
    assert.equal(typeof again.seq, 'number', 'writes work again once there is room');
    a.close();
    b.close();
    await t.close();
    t = undefined;
    const db = new Database(join(dataDir, DB_FILE), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database is intact');
    } finally {
      db.close();
    }
  });
});
