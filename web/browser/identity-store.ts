/**
 * The browser's identities, kept in IndexedDB. Each is an ECDSA P-256 key made with
 * noble (`generateIdentity`) and imported into WebCrypto twice as non-extractable
 * CryptoKeys: ECDSA for signing (`webCryptoSigner`) and ECDH for key agreement
 * (`webCryptoAgreement`). The raw secret is stored too, but only encrypted
 * (AES-GCM, AAD = scope and public key) under a third non-extractable CryptoKey, so
 * a passphrase backup (crypto/backup.ts) stays possible.
 *
 * What this protects: script and extensions cannot read key bytes out of the
 * CryptoKeys, and everyday code paths (auth, signing, envelopes) never hold the raw
 * secret. What it does not: code running in this origin can still ask WebCrypto to
 * unwrap the secret for a backup — that is the price of backups.
 *
 * One default identity serves every server; with Settings.identityPerServer each
 * server gets its own (scope `server:<id>`). Implements the core's `IdentityStore`.
 */
import { p256 } from '@noble/curves/nist.js';
import {
  backupFromText,
  backupToText,
  exportBackup,
  importBackup,
  type ScryptParams,
} from '../../crypto/backup.ts';
import { toBase64url } from '../../crypto/bytes.ts';
import { importAgreementKey, webCryptoAgreement } from '../../crypto/ecdh.ts';
import {
  generateIdentity,
  type IdentityKeyPair,
  identityFromSecretKey,
  userIdOf,
} from '../../crypto/identity.ts';
import { webCryptoSigner } from '../../crypto/sign.ts';
import { encodeStatement } from '../../crypto/statement.ts';
import type { IdentityProvider, IdentityStore } from '../core/identity-provider.ts';
import { openDatabase, request, transaction } from './idb.ts';

export const DEFAULT_SCOPE = 'default';
const STORE = 'identities';
const WRAP_CONTEXT = 'tincan/identity-wrap/v1';

/** What IndexedDB holds per identity: CryptoKeys (structured-cloned, still non-extractable) and the wrapped secret. */
export interface StoredIdentity {
  scope: string;
  publicKey: Uint8Array;
  signKey: CryptoKey;
  agreeKey: CryptoKey;
  wrapKey: CryptoKey;
  iv: Uint8Array;
  wrapped: Uint8Array;
  createdAt: number;
}

export interface BrowserIdentity extends IdentityProvider {
  readonly scope: string;
  /** base64url public key. */
  readonly userId: string;
}

function aad(scope: string, publicKey: Uint8Array): Uint8Array {
  return encodeStatement(WRAP_CONTEXT, [scope, publicKey]);
}

/** Imports a raw P-256 secret as a non-extractable WebCrypto ECDSA signing key (JWK, RFC 7518 §6.2). */
export function importSigningKey(secretKey: Uint8Array): Promise<CryptoKey> {
  const point = p256.getPublicKey(secretKey, false);
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    d: toBase64url(secretKey),
    x: toBase64url(point.subarray(1, 33)),
    y: toBase64url(point.subarray(33, 65)),
  };
  return crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

async function seal(scope: string, pair: IdentityKeyPair): Promise<StoredIdentity> {
  const { secretKey, publicKey } = identityFromSecretKey(pair.secretKey.slice());
  try {
    const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapped = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: aad(scope, publicKey) as BufferSource },
      wrapKey,
      secretKey as BufferSource,
    );
    return {
      scope,
      publicKey,
      signKey: await importSigningKey(secretKey),
      agreeKey: await importAgreementKey(secretKey),
      wrapKey,
      iv,
      wrapped: new Uint8Array(wrapped),
      createdAt: Date.now(),
    };
  } finally {
    secretKey.fill(0);
  }
}

function provider(record: StoredIdentity): BrowserIdentity {
  return {
    scope: record.scope,
    userId: userIdOf(record.publicKey),
    publicKey: record.publicKey.slice(),
    signer: webCryptoSigner(record.signKey, record.publicKey),
    agreement: webCryptoAgreement(record.agreeKey, record.publicKey),
  };
}

export class BrowserIdentityStore implements IdentityStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = 'tincan-identity'): Promise<BrowserIdentityStore> {
    const db = await openDatabase(name, 1, (db) => db.createObjectStore(STORE, { keyPath: 'scope' }));
    return new BrowserIdentityStore(db);
  }

  close(): void {
    this.db.close();
  }

  private read(scope: string): Promise<StoredIdentity | undefined> {
    return transaction(this.db, STORE, 'readonly', (tx) => request(tx.objectStore(STORE).get(scope)));
  }

  /** The identity for `scope`, made on first use. Two tabs asking at once get the same one. */
  async identity(scope = DEFAULT_SCOPE): Promise<BrowserIdentity> {
    const found = await this.read(scope);
    if (found) return provider(found);
    const pair = generateIdentity();
    const record = await seal(scope, pair);
    pair.secretKey.fill(0);
    try {
      await transaction(this.db, STORE, 'readwrite', (tx) => void tx.objectStore(STORE).add(record));
      return provider(record);
    } catch (error) {
      // Someone else stored one first (ConstraintError): theirs wins.
      const winner = await this.read(scope);
      if (winner) return provider(winner);
      throw error;
    }
  }

  /** The core's view: one identity for all servers, or one per server. */
  identityFor(serverSlot: string, perServer: boolean): Promise<IdentityProvider> {
    return this.identity(perServer ? `server:${serverSlot}` : DEFAULT_SCOPE);
  }

  /** Unwraps the raw secret for a passphrase backup. The caller should `fill(0)` it when done. */
  async exportSecretForBackup(scope = DEFAULT_SCOPE): Promise<IdentityKeyPair> {
    const record = await this.read(scope);
    if (!record) throw new Error(`no identity for ${scope}`);
    const secret = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: record.iv as BufferSource,
        additionalData: aad(scope, record.publicKey) as BufferSource,
      },
      record.wrapKey,
      record.wrapped as BufferSource,
    );
    return identityFromSecretKey(new Uint8Array(secret));
  }

  exportKeyPair(): Promise<IdentityKeyPair> {
    return this.exportSecretForBackup(DEFAULT_SCOPE);
  }

  /** Replaces the identity of `scope` (a restored backup). */
  async importKeyPair(pair: IdentityKeyPair, scope = DEFAULT_SCOPE): Promise<void> {
    const record = await seal(scope, pair);
    await transaction(this.db, STORE, 'readwrite', (tx) => void tx.objectStore(STORE).put(record));
  }

  /** The passphrase-sealed backup text (`tincan-backup-v1:…`); `params` lowers scrypt cost for tests only. */
  async exportBackupText(passphrase: string, scope = DEFAULT_SCOPE, params?: ScryptParams): Promise<string> {
    const pair = await this.exportSecretForBackup(scope);
    try {
      return backupToText(await exportBackup(pair, passphrase, params));
    } finally {
      pair.secretKey.fill(0);
    }
  }

  /** Restores a backup into `scope`; returns the restored identity. */
  async importBackupText(text: string, passphrase: string, scope = DEFAULT_SCOPE): Promise<BrowserIdentity> {
    const pair = await importBackup(backupFromText(text), passphrase);
    try {
      await this.importKeyPair(pair, scope);
    } finally {
      pair.secretKey.fill(0);
    }
    return this.identity(scope);
  }

  async remove(scope: string): Promise<void> {
    await transaction(this.db, STORE, 'readwrite', (tx) => void tx.objectStore(STORE).delete(scope));
  }
}
