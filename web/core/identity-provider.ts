/**
 * Who this device is on a server: a signer (auth, messages, envelopes) and an ECDH
 * agreement (opening envelopes) over one P-256 key. The browser provides one over
 * non-extractable WebCrypto keys kept in IndexedDB; `rawIdentity` serves Node
 * (tests, bots) from a raw secret key.
 */
import { type Agreement, rawAgreement } from '../../crypto/ecdh.ts';
import { type IdentityKeyPair, userIdOf } from '../../crypto/identity.ts';
import { rawSigner, type Signer } from '../../crypto/sign.ts';

export interface IdentityProvider {
  readonly signer: Signer;
  readonly agreement: Agreement;
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
}

/** The user id (base64url public key) of an identity. */
export function idOf(identity: IdentityProvider): string {
  return userIdOf(identity.publicKey);
}

export function rawIdentity(pair: IdentityKeyPair): IdentityProvider {
  return {
    signer: rawSigner(pair.secretKey),
    agreement: rawAgreement(pair.secretKey),
    publicKey: pair.publicKey.slice(),
  };
}

/**
 * Where identities live: one for every server, or a separate one per server
 * (Settings.identityPerServer). The backup functions see the main identity's secret,
 * so a store over non-extractable keys keeps an extractable copy only if the person
 * asked for backups (its choice; the core only calls these two when asked to).
 */
export interface IdentityStore {
  /** The identity to use for `serverSlot` (a new one when per-server and none yet). */
  identityFor(serverSlot: string, perServer: boolean): Promise<IdentityProvider>;
  exportKeyPair(): Promise<IdentityKeyPair>;
  importKeyPair(pair: IdentityKeyPair): Promise<void>;
}

/** An IdentityStore in memory over raw keys (Node). */
export class MemoryIdentityStore implements IdentityStore {
  private main: IdentityKeyPair;
  private readonly perServer = new Map<string, IdentityKeyPair>();

  constructor(
    main: IdentityKeyPair,
    private readonly generate: () => IdentityKeyPair,
  ) {
    this.main = main;
  }

  async identityFor(serverSlot: string, perServer: boolean): Promise<IdentityProvider> {
    if (!perServer) return rawIdentity(this.main);
    let pair = this.perServer.get(serverSlot);
    if (!pair) this.perServer.set(serverSlot, (pair = this.generate()));
    return rawIdentity(pair);
  }

  async exportKeyPair(): Promise<IdentityKeyPair> {
    return this.main;
  }

  async importKeyPair(pair: IdentityKeyPair): Promise<void> {
    this.main = pair;
  }
}
