import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { seal } from '../../crypto/aead.ts';
import { randomBytes, toBase64url, utf8 } from '../../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../../crypto/identity.ts';
import { mapSqliteError, StoreError } from './errors.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { DB_FILE, Store, type StoreOptions } from './store.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tincan-store-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const newKey = () => userIdOf(generateIdentity().publicKey);
const inviteId = () => toBase64url(randomBytes(16));
const T0 = 1_700_000_000_000; // ms

/** A store on a fresh directory with a settable clock. */
function open(options: StoreOptions = {}) {
  const clock = { ms: T0 };
  const dir = tempDir();
  const store = new Store(dir, { now: () => clock.ms, ...options });
  return { store, dir, clock };
}

const code = (c: string) => ({ code: c });

describe('Store: opening', () => {
  it('creates tincan.db in WAL mode at the current schema version', () => {
    const { store, dir } = open();
    store.close();
    const raw = new Database(join(dir, DB_FILE), { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    raw.close();
  });

  it('refuses a database from a newer tincan with STORE_FAILED', () => {
    const { store, dir } = open();
    store.close();
    const raw = new Database(join(dir, DB_FILE));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => new Store(dir), code('STORE_FAILED'));
  });

  it('fails with STORE_FAILED on a missing database opened read-only, and after close', () => {
    assert.throws(() => new Store(tempDir(), { readonly: true }), code('STORE_FAILED'));
    const { store } = open();
    store.close();
    store.close(); // idempotent
    assert.throws(() => store.getSetting('x'), code('STORE_FAILED'));
  });

  it('reports integrity and size', () => {
    const { store } = open();
    assert.deepEqual(store.checkIntegrity(), { ok: true, messages: ['ok'] });
    const size = store.storeBytes();
    assert.ok(size > 0 && size % 512 === 0, `size ${size}`);
    store.close();
  });
});

describe('Store: members and bans', () => {
  it('adds, reads, lists, renames, sets roles and removes members', () => {
    const { store, clock } = open();
    const alice = newKey();
    const bob = newKey();
    const a = store.upsertMember({ key: alice, name: 'Alice', roles: ['admin', 'member'], addedBy: 'cli' });
    assert.deepEqual(a, {
      key: alice,
      name: 'Alice',
      roles: ['admin', 'member'],
      addedBy: 'cli',
      inviteId: undefined,
      addedAt: T0 / 1000,
    });
    clock.ms += 5000;
    store.upsertMember({ key: bob, name: 'Bob', roles: ['member'] });
    assert.deepEqual(
      store.listMembers().map((m) => [m.key, m.name, m.roles]),
      [
        [alice, 'Alice', ['admin', 'member']],
        [bob, 'Bob', ['member']],
      ],
    );
    // Upserting again renames and replaces roles but keeps who added it and when.
    const again = store.upsertMember({ key: alice, name: 'Alice B', roles: ['member'] });
    assert.equal(again.name, 'Alice B');
    assert.deepEqual(again.roles, ['member']);
    assert.equal(again.addedBy, 'cli');
    assert.equal(again.addedAt, T0 / 1000);

    assert.equal(store.renameMember(bob, 'Robert'), true);
    assert.equal(store.getMember(bob)?.name, 'Robert');
    assert.equal(store.setRoles(bob, ['moderator', 'member']), true);
    assert.deepEqual(store.getMember(bob)?.roles, ['moderator', 'member'], 'roles keep their order');

    assert.equal(store.removeMember(bob), true);
    assert.equal(store.getMember(bob), undefined);
    assert.equal(store.removeMember(bob), false);
    assert.equal(store.renameMember(bob, 'x'), false);
    assert.equal(store.setRoles(bob, ['member']), false);
    assert.equal(store.listMembers().length, 1);
    store.close();
  });

  it('rejects bad member input with BAD_INPUT', () => {
    const { store } = open();
    const key = newKey();
    assert.throws(() => store.upsertMember({ key, name: '', roles: ['member'] }), code('BAD_INPUT'));
    assert.throws(() => store.upsertMember({ key, name: 'x', roles: [] }), code('BAD_INPUT'));
    assert.throws(() => store.upsertMember({ key, name: 'x', roles: ['a', 'a'] }), code('BAD_INPUT'));
    assert.throws(() => store.setRoles(key, []), code('BAD_INPUT'));
    store.close();
  });

  it('keeps a ban across the removal of the member, and lifts it on unban', () => {
    const { store } = open();
    const mallory = newKey();
    store.upsertMember({ key: mallory, name: 'Mallory', roles: ['member'] });
    assert.equal(store.isBanned(mallory), false);
    store.ban(mallory, { by: 'admin-key', reason: 'spam' });
    store.removeMember(mallory);
    assert.equal(store.isBanned(mallory), true);
    store.ban(mallory, { by: 'other-admin' });
    assert.deepEqual(store.listBans(), [
      { key: mallory, by: 'other-admin', reason: undefined, at: T0 / 1000 },
    ]);
    assert.equal(store.unban(mallory), true);
    assert.equal(store.unban(mallory), false);
    assert.equal(store.isBanned(mallory), false);
    assert.deepEqual(store.listBans(), []);
    store.close();
  });
});

describe('Store: invites', () => {
  const NOW = T0 / 1000;

  it('creates, reads, lists and revokes invites, and keeps their bundles', () => {
    const { store } = open();
    const id = inviteId();
    const bundle = toBase64url(randomBytes(300));
    const made = store.createInvite({
      id,
      role: 'member',
      expiresAt: NOW + 3600,
      maxUses: 5,
      channel: 'general',
      createdBy: 'alice',
      bundle,
    });
    assert.deepEqual(made, {
      id,
      role: 'member',
      channel: 'general',
      createdBy: 'alice',
      createdAt: NOW,
      expiresAt: NOW + 3600,
      maxUses: 5,
      uses: 0,
      revokedAt: undefined,
      hasBundle: true,
    });
    assert.deepEqual(store.getInvite(id), made);
    assert.equal(store.getInviteBundle(id), bundle);
    const plain = inviteId();
    store.createInvite({ id: plain, role: 'guest', expiresAt: NOW + 60, maxUses: 1, createdBy: 'alice' });
    assert.equal(store.getInviteBundle(plain), undefined);
    assert.equal(store.getInviteBundle(inviteId()), undefined);
    assert.deepEqual(
      store.listInvites().map((i) => i.id),
      [id, plain].sort(),
    );
    assert.throws(
      () => store.createInvite({ id, role: 'member', expiresAt: NOW, maxUses: 1, createdBy: 'a' }),
      code('CONFLICT'),
    );
    assert.equal(store.revokeInvite(id), true);
    assert.equal(store.revokeInvite(id), false, 'already revoked');
    assert.equal(store.revokeInvite(inviteId()), false, 'unknown');
    assert.equal(store.getInvite(id)?.revokedAt, NOW);
    store.close();
  });

  it('rejects malformed invites with BAD_INPUT', () => {
    const { store } = open();
    const ok = { id: inviteId(), role: 'member', expiresAt: NOW, maxUses: 1, createdBy: 'a' };
    assert.throws(() => store.createInvite({ ...ok, id: 'short' }), code('BAD_INPUT'));
    assert.throws(() => store.createInvite({ ...ok, maxUses: 0 }), code('BAD_INPUT'));
    assert.throws(() => store.createInvite({ ...ok, bundle: 'not base64url!' }), code('BAD_INPUT'));
    assert.throws(() => store.createInvite({ ...ok, bundle: 'A' }), code('BAD_INPUT'), 'impossible length');
    store.close();
  });

  it('redeems a one-use invite once', () => {
    const { store } = open();
    const id = inviteId();
    store.createInvite({
      id,
      role: 'member',
      expiresAt: NOW + 60,
      maxUses: 1,
      channel: 'c1',
      createdBy: 'alice',
    });
    const bob = newKey();
    assert.deepEqual(store.redeemInvite(id, bob, NOW), {
      ok: true,
      role: 'member',
      channel: 'c1',
      createdBy: 'alice',
      again: false,
      member: undefined,
    });
    assert.deepEqual(store.redeemInvite(id, newKey(), NOW), { ok: false, reason: 'USED_UP' });
    assert.deepEqual(
      store.redeemInvite(id, bob, NOW),
      { ok: false, reason: 'USED_UP' },
      'bob never became a member',
    );
    assert.equal(store.getInvite(id)?.uses, 1);
    assert.deepEqual(store.listRedemptions(id), [bob]);
    store.close();
  });

  it('lets a member who joined retry without a use, but not once removed', () => {
    const { store } = open();
    const id = inviteId();
    store.createInvite({ id, role: 'member', expiresAt: NOW + 60, maxUses: 1, createdBy: 'alice' });
    const bob = newKey();
    assert.equal(store.redeemInvite(id, bob, NOW, { name: 'Bob' }).ok, true);
    const retry = store.redeemInvite(id, bob, NOW + 1, { name: 'Bob' });
    assert.equal(retry.ok && retry.again, true);
    assert.equal(store.getInvite(id)?.uses, 1);
    store.removeMember(bob); // kicked
    assert.deepEqual(store.redeemInvite(id, bob, NOW + 2, { name: 'Bob' }), { ok: false, reason: 'USED_UP' });
    assert.equal(store.getMember(bob), undefined);
    store.close();
  });

  it('counts uses up to maxUses', () => {
    const { store } = open();
    const id = inviteId();
    store.createInvite({ id, role: 'guest', expiresAt: NOW + 60, maxUses: 3, createdBy: 'alice' });
    for (let i = 0; i < 3; i++) assert.equal(store.redeemInvite(id, newKey(), NOW).ok, true);
    assert.deepEqual(store.redeemInvite(id, newKey(), NOW), { ok: false, reason: 'USED_UP' });
    assert.equal(store.getInvite(id)?.uses, 3);
    store.close();
  });

  it('refuses unknown, expired and revoked invites and banned keys', () => {
    const { store } = open();
    const id = inviteId();
    store.createInvite({ id, role: 'member', expiresAt: NOW + 60, maxUses: 10, createdBy: 'alice' });
    assert.deepEqual(store.redeemInvite(inviteId(), newKey(), NOW), { ok: false, reason: 'UNKNOWN' });
    assert.equal(store.redeemInvite(id, newKey(), NOW + 59).ok, true);
    assert.deepEqual(store.redeemInvite(id, newKey(), NOW + 60), { ok: false, reason: 'EXPIRED' });
    const banned = newKey();
    store.ban(banned, { by: 'alice', reason: 'spam' });
    assert.deepEqual(store.redeemInvite(id, banned, NOW, { name: 'Eve' }), { ok: false, reason: 'BANNED' });
    assert.equal(store.getMember(banned), undefined, 'a ban blocks re-adding via invite');
    store.revokeInvite(id);
    assert.deepEqual(store.redeemInvite(id, newKey(), NOW), { ok: false, reason: 'REVOKED' });
    assert.equal(store.getInvite(id)?.uses, 1, 'failed redemptions count nothing');
    store.close();
  });

  it('with a name, makes the key a member in the same transaction, or adds the role to an existing one', () => {
    const { store } = open();
    const id = inviteId();
    store.createInvite({ id, role: 'moderator', expiresAt: NOW + 60, maxUses: 5, createdBy: 'alice' });
    const bob = newKey();
    const joined = store.redeemInvite(id, bob, NOW, { name: 'Bob' });
    assert.ok(joined.ok);
    assert.deepEqual(joined.member, {
      key: bob,
      name: 'Bob',
      roles: ['moderator'],
      addedBy: 'alice',
      inviteId: id,
      addedAt: NOW,
    });
    const carol = newKey();
    store.upsertMember({ key: carol, name: 'Carol', roles: ['member'] });
    const promoted = store.redeemInvite(id, carol, NOW, { name: 'ignored' });
    assert.ok(promoted.ok);
    assert.equal(promoted.member?.name, 'Carol', 'an existing member keeps its name');
    assert.deepEqual(promoted.member?.roles, ['member', 'moderator']);
    store.close();
  });
});

describe('Store: ciphertext logs', () => {
  const blob = (n: number, fill = n) => new Uint8Array(n).fill(fill);
  const appendN = (store: Store, log: string, n: number, author = 'alice') => {
    for (let i = 1; i <= n; i++)
      store.append({ log, kind: 'update', id: `id-${log}-${i}`, blob: blob(i), author, at: T0 + i });
  };

  it('numbers entries per log, and stores a retried append once', () => {
    const { store } = open();
    assert.deepEqual(
      store.append({ log: 'a', kind: 'update', id: 'x1', blob: blob(3), author: 'k', at: T0 }),
      {
        seq: 1,
        duplicate: false,
      },
    );
    assert.deepEqual(store.append({ log: 'b', kind: 'key', id: 'x1', blob: blob(4), author: 'k', at: T0 }), {
      seq: 1,
      duplicate: false,
    });
    assert.deepEqual(
      store.append({ log: 'a', kind: 'update', id: 'x2', blob: blob(5), author: 'k', at: T0 }),
      {
        seq: 2,
        duplicate: false,
      },
    );
    assert.deepEqual(
      store.append({ log: 'a', kind: 'update', id: 'x1', blob: blob(9), author: 'k', at: T0 }),
      {
        seq: 1,
        duplicate: true,
      },
    );
    assert.throws(
      () => store.append({ log: 'a', kind: 'update', id: 'x1', blob: blob(3), author: 'other', at: T0 }),
      code('CONFLICT'),
    );
    assert.equal(store.logBytes('a'), 8);
    assert.equal(store.logBytes('b'), 4);
    assert.equal(store.logBytes('none'), 0);
    assert.equal(store.lastSeq('a'), 2);
    const [first] = store.fetchAfter('a', 0, 10);
    assert.deepEqual(first, { seq: 1, kind: 'update', id: 'x1', blob: blob(3), author: 'k', at: T0 });
    assert.equal(
      Object.getPrototypeOf(first?.blob),
      Uint8Array.prototype,
      'a plain Uint8Array, not a Buffer',
    );
    store.close();
  });

  it('pages forward oldest first and backward newest first', () => {
    const { store } = open();
    appendN(store, 'general', 25);
    appendN(store, 'other', 3);
    const forward: number[] = [];
    for (let after = 0; ; ) {
      const page = store.fetchAfter('general', after, 10);
      if (page.length === 0) break;
      forward.push(...page.map((e) => e.seq));
      after = page.at(-1)!.seq;
    }
    assert.deepEqual(
      forward,
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    const backward: number[] = [];
    for (let before = store.lastSeq('general') + 1; ; ) {
      const page = store.fetchBefore('general', before, 7);
      if (page.length === 0) break;
      backward.push(...page.map((e) => e.seq));
      before = page.at(-1)!.seq;
    }
    assert.deepEqual(
      backward,
      Array.from({ length: 25 }, (_, i) => 25 - i),
    );
    assert.deepEqual(store.fetchAfter('nothing', 0, 10), []);
    assert.throws(() => store.fetchAfter('general', 0, 0), code('BAD_INPUT'));
    store.close();
  });

  it('compacts into one snapshot that comes first, keeping later seqs and key entries', () => {
    const { store } = open();
    appendN(store, 'c', 4); // seqs 1..4, bytes 1+2+3+4
    store.append({ log: 'c', kind: 'key', id: 'key-5', blob: blob(50), author: 'bob', at: T0 }); // 5
    appendN(store, 'd', 0);
    for (let i = 6; i <= 8; i++)
      store.append({ log: 'c', kind: 'update', id: `late-${i}`, blob: blob(i), author: 'bob', at: T0 });
    const snapshot = blob(20, 0xee);
    assert.deepEqual(store.compact('c', 7, snapshot, 'carol', T0 + 100), { seq: 7, replaced: 6 });
    const all = store.fetchAfter('c', 0, 100);
    assert.deepEqual(
      all.map((e) => [e.seq, e.kind]),
      [
        [5, 'key'],
        [7, 'snapshot'],
        [8, 'update'],
      ],
    );
    assert.deepEqual(all[1], {
      seq: 7,
      kind: 'snapshot',
      id: undefined,
      blob: snapshot,
      author: 'carol',
      at: T0 + 100,
    });
    assert.equal(store.logBytes('c'), 50 + 20 + 8);
    assert.equal(
      store.fetchAfter('c', 3, 1)[0]?.seq,
      5,
      'a client behind the snapshot gets everything after',
    );
    assert.equal(
      store.append({ log: 'c', kind: 'update', id: 'next', blob: blob(1), author: 'k', at: T0 }).seq,
      9,
    );

    // Compacting again folds the old snapshot in.
    assert.deepEqual(store.compact('c', 9, blob(10, 1), 'carol'), { seq: 9, replaced: 3 });
    assert.deepEqual(
      store.fetchAfter('c', 0, 100).map((e) => [e.seq, e.kind]),
      [
        [5, 'key'],
        [9, 'snapshot'],
      ],
    );
    assert.equal(store.logBytes('c'), 60);
    store.close();
  });

  it('puts the snapshot first when the log holds only updates', () => {
    const { store } = open();
    appendN(store, 'c', 6);
    store.compact('c', 4, blob(2), 'alice');
    assert.deepEqual(
      store.fetchAfter('c', 0, 100).map((e) => [e.seq, e.kind]),
      [
        [4, 'snapshot'],
        [5, 'update'],
        [6, 'update'],
      ],
    );
    assert.equal(store.fetchBefore('c', 100, 100).at(-1)?.kind, 'snapshot');
    store.close();
  });

  it('refuses compaction of an unknown log, past the end, or with nothing to replace', () => {
    const { store } = open();
    appendN(store, 'c', 2);
    store.append({ log: 'k', kind: 'key', id: 'k1', blob: blob(1), author: 'k', at: T0 });
    assert.throws(() => store.compact('none', 1, blob(1), 'a'), code('NOT_FOUND'));
    assert.throws(() => store.compact('c', 3, blob(1), 'a'), code('CONFLICT'));
    assert.throws(() => store.compact('k', 1, blob(1), 'a'), code('CONFLICT'));
    assert.equal(store.fetchAfter('c', 0, 10).length, 2, 'nothing changed');
    store.close();
  });

  it('refuses an append past maxLogBytes with STORE_FULL and stores nothing', () => {
    const { store } = open({ maxLogBytes: 100 });
    store.append({ log: 'c', kind: 'update', id: 'a', blob: blob(60), author: 'k', at: T0 });
    store.append({ log: 'c', kind: 'update', id: 'b', blob: blob(40), author: 'k', at: T0 });
    assert.throws(
      () => store.append({ log: 'c', kind: 'update', id: 'c', blob: blob(1), author: 'k', at: T0 }),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_FULL',
    );
    assert.equal(store.logBytes('c'), 100);
    assert.equal(store.lastSeq('c'), 2);
    assert.equal(
      store.append({ log: 'd', kind: 'update', id: 'c', blob: blob(100), author: 'k', at: T0 }).seq,
      1,
    );
    // A retry of a stored entry is still answered when the log is full.
    assert.deepEqual(
      store.append({ log: 'c', kind: 'update', id: 'b', blob: blob(40), author: 'k', at: T0 }),
      {
        seq: 2,
        duplicate: true,
      },
    );
    // Compaction frees room; a snapshot that would not fit is refused.
    assert.throws(() => store.compact('c', 2, blob(101), 'k'), code('STORE_FULL'));
    store.compact('c', 2, blob(10), 'k');
    assert.equal(store.logBytes('c'), 10);
    store.close();
  });

  it('deletes a log', () => {
    const { store } = open();
    appendN(store, 'c', 3);
    assert.equal(store.deleteLog('c'), true);
    assert.equal(store.deleteLog('c'), false);
    assert.deepEqual(store.fetchAfter('c', 0, 10), []);
    assert.equal(store.lastSeq('c'), 0);
    store.close();
  });
});

describe('Store: SQLite failures', () => {
  it('maps a full database to STORE_FULL and keeps serving reads', () => {
    const { store } = open({ maxStoreBytes: 256 * 1024 });
    store.setSetting('before', 'yes');
    const big = new Uint8Array(64 * 1024);
    assert.throws(() => {
      for (let i = 0; i < 100; i++)
        store.append({ log: 'c', kind: 'update', id: `e${i}`, blob: big, author: 'k', at: 0 });
    }, code('STORE_FULL'));
    assert.equal(store.getSetting('before'), 'yes');
    assert.ok(store.fetchAfter('c', 0, 100).length > 0);
    store.close();
  });

  it('maps writes to a read-only database to STORE_FAILED', () => {
    const { store, dir } = open();
    store.setSetting('a', '1');
    const reader = new Store(dir, { readonly: true });
    assert.equal(reader.getSetting('a'), '1');
    assert.throws(() => reader.setSetting('a', '2'), code('STORE_FAILED'));
    reader.close();
    store.close();
  });

  it('maps I/O, busy and corruption codes to STORE_FAILED and leaves other errors alone', () => {
    for (const c of [
      'SQLITE_IOERR_WRITE',
      'SQLITE_IOERR',
      'SQLITE_READONLY_DBMOVED',
      'SQLITE_BUSY',
      'SQLITE_CORRUPT',
    ]) {
      const mapped = mapSqliteError(Object.assign(new Error('x'), { code: c }));
      assert.ok(mapped instanceof StoreError && mapped.code === 'STORE_FAILED', c);
    }
    const full = mapSqliteError(Object.assign(new Error('x'), { code: 'SQLITE_FULL' }));
    assert.ok(full instanceof StoreError && full.code === 'STORE_FULL');
    const constraint = Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    assert.equal(mapSqliteError(constraint), constraint);
  });
});

describe('Store: audit, channel state, settings', () => {
  it('records audit entries newest first, with flat details', () => {
    const { store, clock } = open();
    store.audit({
      actor: 'alice',
      action: 'member.kick',
      target: 'bob',
      detail: { reason: 'spam', count: 2, silent: false },
    });
    clock.ms += 1000;
    store.audit({ actor: 'cli', action: 'server.start' });
    assert.deepEqual(
      store.listAudit(10).map(({ id: _id, ...rest }) => rest),
      [
        { at: T0 / 1000 + 1, actor: 'cli', action: 'server.start', target: undefined, detail: undefined },
        {
          at: T0 / 1000,
          actor: 'alice',
          action: 'member.kick',
          target: 'bob',
          detail: { reason: 'spam', count: 2, silent: false },
        },
      ],
    );
    assert.equal(store.listAudit(1).length, 1);
    const nested = { nested: {} } as unknown as Record<string, string>;
    assert.throws(() => store.audit({ actor: 'a', action: 'b', detail: nested }), code('BAD_INPUT'));
    store.close();
  });

  it('saves and loads the channel tree state and settings', () => {
    const { store } = open();
    assert.equal(store.loadChannelState(), undefined);
    store.saveChannelState(new Uint8Array([1, 2, 3]));
    store.saveChannelState(new Uint8Array([4, 5]));
    assert.deepEqual(store.loadChannelState(), new Uint8Array([4, 5]));
    assert.equal(store.getSetting('turn_secret'), undefined);
    store.setSetting('turn_secret', 's1');
    store.setSetting('turn_secret', 's2');
    assert.equal(store.getSetting('turn_secret'), 's2');
    store.setSetting('turn_secret', undefined);
    assert.equal(store.getSetting('turn_secret'), undefined);
    store.close();
  });
});

describe('Store: persistence and sharing', () => {
  it('keeps everything when the directory is opened again', () => {
    const { store, dir } = open();
    const key = newKey();
    const id = inviteId();
    store.upsertMember({ key, name: 'Alice', roles: ['admin'] });
    store.ban('bad', { by: key });
    store.createInvite({ id, role: 'member', expiresAt: 9e9, maxUses: 2, createdBy: key, bundle: 'AQID' });
    store.redeemInvite(id, 'joiner', 1);
    store.append({ log: 'c', kind: 'update', id: 'e1', blob: new Uint8Array([7]), author: key, at: 1 });
    store.audit({ actor: key, action: 'x' });
    store.saveChannelState(new Uint8Array([9]));
    store.setSetting('k', 'v');
    store.close();

    const again = new Store(dir);
    assert.equal(again.getMember(key)?.name, 'Alice');
    assert.equal(again.isBanned('bad'), true);
    assert.equal(again.getInvite(id)?.uses, 1);
    assert.equal(again.getInviteBundle(id), 'AQID');
    assert.deepEqual(again.fetchAfter('c', 0, 10)[0]?.blob, new Uint8Array([7]));
    assert.equal(
      again.append({ log: 'c', kind: 'update', id: 'e1', blob: new Uint8Array([7]), author: key, at: 1 })
        .duplicate,
      true,
    );
    assert.equal(again.listAudit(10).length, 1);
    assert.deepEqual(again.loadChannelState(), new Uint8Array([9]));
    assert.equal(again.getSetting('k'), 'v');
    again.close();
  });

  it('lets two stores on one file (server and CLI) see each other and notice with dataVersion', () => {
    const { store: server, dir } = open();
    const cli = new Store(dir);
    const v0 = server.dataVersion();
    server.setSetting('own', 'write');
    assert.equal(server.dataVersion(), v0, 'own writes do not change data_version');
    const key = newKey();
    cli.upsertMember({ key, name: 'Dave', roles: ['member'] });
    cli.ban('someone', { by: 'cli' });
    const v1 = server.dataVersion();
    assert.notEqual(v1, v0);
    assert.equal(server.getMember(key)?.name, 'Dave');
    assert.equal(server.isBanned('someone'), true);
    assert.equal(cli.getSetting('own'), 'write');
    assert.equal(server.dataVersion(), v1, 'stable while nobody else writes');
    cli.close();
    server.close();
  });

  it('never holds a canary plaintext when only its ciphertext was stored', () => {
    const { store, dir } = open();
    const canary = 'tincan-canary: the eagle lands at midnight 7f3a';
    const key = randomBytes(32);
    const sealed = seal(key, utf8(canary), utf8('general'));
    store.append({ log: 'general', kind: 'update', id: 'canary', blob: sealed, author: 'alice', at: T0 });
    const snapshot = seal(key, utf8(`${canary} (snapshot)`), utf8('general'));
    store.compact('general', 1, snapshot, 'alice');
    store.createInvite({
      id: inviteId(),
      role: 'member',
      expiresAt: 9e9,
      maxUses: 1,
      createdBy: 'alice',
      bundle: toBase64url(seal(key, utf8(canary), new Uint8Array())),
    });
    store.audit({
      actor: 'alice',
      action: 'log.append',
      target: 'general',
      detail: { bytes: sealed.length },
    });
    store.close(); // checkpoints the WAL into the main file
    const onDisk = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`].map((f) => {
      try {
        return readFileSync(join(dir, f));
      } catch {
        return Buffer.alloc(0); // the WAL and shm files are removed on a clean close
      }
    });
    const haystack = Buffer.concat(onDisk);
    assert.ok(haystack.includes(Buffer.from(snapshot)), 'the scan sees what was stored');
    assert.equal(haystack.indexOf(Buffer.from('eagle lands')), -1, 'the canary plaintext is not on disk');
  });
});
