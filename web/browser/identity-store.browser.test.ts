/**
 * The browser identity store in Chromium: keys live in IndexedDB as non-extractable
 * CryptoKeys, survive reopening the store, sign statements `verifyStatement`
 * accepts, agree on ECDH secrets with noble, and the raw secret is only ever stored
 * wrapped — yet a passphrase backup still round-trips.
 */
import { expect } from '@open-wc/testing';
import { equalBytes } from '../../crypto/bytes.ts';
import { sharedSecret } from '../../crypto/ecdh.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { signStatement, verifyStatement } from '../../crypto/sign.ts';
import { deleteDatabase, openDatabase, request, transaction } from './idb.ts';
import { BrowserIdentityStore, DEFAULT_SCOPE, type StoredIdentity } from './identity-store.ts';

const CONTEXT = 'tincan/test/v1';
const FAST_SCRYPT = { logN: 10, r: 8, p: 1 };
let counter = 0;

describe('BrowserIdentityStore', () => {
  let name: string;
  let store: BrowserIdentityStore;
  beforeEach(async () => {
    name = `tincan-identity-test-${Date.now()}-${counter++}`;
    store = await BrowserIdentityStore.open(name);
  });
  afterEach(async () => {
    store.close();
    await deleteDatabase(name);
  });

  async function rawRecords(): Promise<StoredIdentity[]> {
    const db = await openDatabase(name, 1, () => undefined);
    try {
      return await transaction(db, 'identities', 'readonly', (tx) =>
        request(tx.objectStore('identities').getAll()),
      );
    } finally {
      db.close();
    }
  }

  it('signs statements that verifyStatement accepts', async () => {
    const id = await store.identity();
    expect(id.publicKey.length).to.equal(33);
    const fields = ['server', 42, new Uint8Array([1, 2, 3])];
    const signature = await signStatement(id.signer, CONTEXT, fields);
    expect(verifyStatement(id.publicKey, signature, CONTEXT, fields)).to.equal(true);
    expect(
      verifyStatement(id.publicKey, signature, CONTEXT, ['server', 43, new Uint8Array([1, 2, 3])]),
    ).to.equal(false);
  });

  it('keeps the same key across a reload of the store', async () => {
    const first = await store.identity();
    store.close();
    store = await BrowserIdentityStore.open(name);
    const again = await store.identity();
    expect(equalBytes(again.publicKey, first.publicKey)).to.equal(true);
    const signature = await signStatement(again.signer, CONTEXT, ['after reload']);
    expect(verifyStatement(first.publicKey, signature, CONTEXT, ['after reload'])).to.equal(true);
  });

  it('stores only non-extractable CryptoKeys, and no raw secret', async () => {
    await store.identity();
    const [record] = await rawRecords();
    const secret = (await store.exportSecretForBackup()).secretKey;
    for (const key of [record!.signKey, record!.agreeKey, record!.wrapKey]) {
      expect(key).to.be.instanceOf(CryptoKey);
      expect(key.extractable).to.equal(false);
      for (const format of ['jwk', 'pkcs8', 'raw'] as const) {
        let exported = false;
        try {
          await crypto.subtle.exportKey(format, key);
          exported = true;
        } catch {
          // expected: non-extractable keys refuse every format
        }
        expect(exported, `${key.algorithm.name} key exported as ${format}`).to.equal(false);
      }
    }
    expect(record!.signKey.algorithm.name).to.equal('ECDSA');
    expect(record!.agreeKey.algorithm.name).to.equal('ECDH');
    expect(record!.wrapKey.algorithm.name).to.equal('AES-GCM');
    expect(record!.wrapped.length).to.equal(32 + 16);
    for (const value of Object.values(record!))
      if (value instanceof Uint8Array)
        expect(equalBytes(value, secret), 'a stored field equals the secret').to.equal(false);
  });

  it('agrees on ECDH secrets with a noble peer', async () => {
    const id = await store.identity();
    const peer = generateIdentity();
    const ours = await id.agreement.deriveSharedSecret(peer.publicKey);
    expect(equalBytes(ours, sharedSecret(peer.secretKey, id.publicKey))).to.equal(true);
  });

  it('unwraps the secret only with the scope it was wrapped for', async () => {
    const id = await store.identity();
    const pair = await store.exportSecretForBackup();
    expect(equalBytes(pair.publicKey, id.publicKey)).to.equal(true);
    const [record] = await rawRecords();
    const db = await openDatabase(name, 1, () => undefined);
    await transaction(
      db,
      'identities',
      'readwrite',
      (tx) => void tx.objectStore('identities').put({ ...record!, scope: 'server:other' }),
    );
    db.close();
    let failed = false;
    await store.exportSecretForBackup('server:other').catch(() => (failed = true));
    expect(failed, 'a record moved to another scope still unwrapped').to.equal(true);
  });

  it('round-trips a passphrase backup into another browser profile', async () => {
    const id = await store.identity();
    const text = await store.exportBackupText('correct horse battery staple', DEFAULT_SCOPE, FAST_SCRYPT);
    expect(text.startsWith('tincan-backup-v1:')).to.equal(true);
    const otherName = `${name}-other`;
    const other = await BrowserIdentityStore.open(otherName);
    try {
      const before = await other.identity();
      expect(equalBytes(before.publicKey, id.publicKey)).to.equal(false);
      let wrong = false;
      await other.importBackupText(text, 'wrong passphrase').catch(() => (wrong = true));
      expect(wrong).to.equal(true);
      const restored = await other.importBackupText(text, 'correct horse battery staple');
      expect(equalBytes(restored.publicKey, id.publicKey)).to.equal(true);
      const signature = await signStatement(restored.signer, CONTEXT, ['restored']);
      expect(verifyStatement(id.publicKey, signature, CONTEXT, ['restored'])).to.equal(true);
    } finally {
      other.close();
      await deleteDatabase(otherName);
    }
  });

  it('keeps one identity by default and, when asked, one per server', async () => {
    const main = await store.identityFor('srv-a', false);
    const a = await store.identityFor('srv-a', true);
    const b = await store.identityFor('srv-b', true);
    expect(equalBytes(main.publicKey, (await store.identityFor('srv-b', false)).publicKey)).to.equal(true);
    expect(equalBytes(a.publicKey, main.publicKey)).to.equal(false);
    expect(equalBytes(a.publicKey, b.publicKey)).to.equal(false);
    store.close();
    store = await BrowserIdentityStore.open(name);
    expect(equalBytes((await store.identityFor('srv-a', true)).publicKey, a.publicKey)).to.equal(true);
    expect(equalBytes((await store.exportKeyPair()).publicKey, main.publicKey)).to.equal(true);
  });

  it('gives every caller the same identity when they race to create it', async () => {
    const second = await BrowserIdentityStore.open(name);
    try {
      const ids = await Promise.all([
        store.identity(),
        second.identity(),
        store.identity(),
        second.identity(),
      ]);
      for (const id of ids) expect(id.userId).to.equal(ids[0]!.userId);
      expect(await rawRecords()).to.have.length(1);
    } finally {
      second.close();
    }
  });
});
