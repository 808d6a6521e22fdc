import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64url, toBase64url, toHex } from '../../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../../crypto/identity.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { encodeStatement } from '../../crypto/statement.ts';
import {
  checkIdentity,
  type HandshakeProof,
  handshakeFields,
  type LinkView,
  MESH_HANDSHAKE_CONTEXT,
  proveIdentity,
} from './mesh-handshake.ts';

const fp = (seed: number): string =>
  `sha-256 ${Array.from({ length: 32 }, (_, i) => ((seed * 31 + i) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
const FP_A = fp(1);
const FP_B = fp(2);
const FP_M1 = fp(3);
const FP_M2 = fp(4);
const ROOM = 'general';
const PEER_A = 'AAAAAAAAAAAAAAAAAAAA';
const PEER_B = 'BBBBBBBBBBBBBBBBBBBB';

/** The two ends of one DTLS association, as each side sees it. */
const viewOfA: LinkView = {
  room: ROOM,
  localFingerprint: FP_A,
  remoteFingerprint: FP_B,
  localPeerId: PEER_A,
  remotePeerId: PEER_B,
};
const viewOfB: LinkView = {
  room: ROOM,
  localFingerprint: FP_B,
  remoteFingerprint: FP_A,
  localPeerId: PEER_B,
  remotePeerId: PEER_A,
};

const alice = generateIdentity();
const mallory = generateIdentity();
const signerA = rawSigner(alice.secretKey);

describe('mesh handshake', () => {
  it('orders the statement fields signer-first: room, fingerprints, peer ids', () => {
    assert.deepEqual(handshakeFields(ROOM, FP_A, FP_B, PEER_A, PEER_B), [ROOM, FP_A, FP_B, PEER_A, PEER_B]);
  });

  it('keeps its golden statement and signature (a format change breaks this)', async () => {
    const hexFp = (f: (i: number) => number) =>
      `sha-256 ${Array.from({ length: 32 }, (_, i) => f(i).toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
    const a = hexFp((i) => i);
    const b = hexFp((i) => 255 - i);
    const fields = handshakeFields('chan42', a, b, 'peerAAAAAAAAAAAAAAAA', 'peerBBBBBBBBBBBBBBBB');
    assert.equal(
      toHex(sha256(encodeStatement(MESH_HANDSHAKE_CONTEXT, fields))),
      '268f9dfccc81135dab063d3abe1834048453335bd0d4513b1178bbfe32294c26',
    );
    // RFC 6979 signatures are deterministic, so the whole proof is a vector.
    const proof = await proveIdentity(rawSigner(new Uint8Array(32).fill(7)), {
      room: 'chan42',
      localFingerprint: a,
      remoteFingerprint: b,
      localPeerId: 'peerAAAAAAAAAAAAAAAA',
      remotePeerId: 'peerBBBBBBBBBBBBBBBB',
    });
    assert.deepEqual(proof, {
      v: 1,
      key: 'Ax4YUy_UdUwC8wQdnHXOszuD_9gax85P6ILMscmLxYlu',
      sig: 'MwexUmLlnnQg3G4id8ydFkbODmi35yLhYytLrO5bGaU9urTzw4sTwSUM5N_myD9yzJWdss7I1J-JU3LmCoNbKQ',
      fp: a,
      peerFp: b,
    });
  });

  it('admits the key that signed the link the receiver negotiated', async () => {
    const proof = await proveIdentity(signerA, viewOfA);
    assert.deepEqual(checkIdentity(proof, viewOfB), { ok: true, userId: userIdOf(alice.publicKey) });
  });

  it('survives a JSON round trip (what trystero carries)', async () => {
    const proof: unknown = JSON.parse(JSON.stringify(await proveIdentity(signerA, viewOfA)));
    assert.equal(checkIdentity(proof, viewOfB).ok, true);
  });

  it('catches a signal server that swapped SDPs to sit in the middle', async () => {
    // Alice negotiated with the server's certificate M1, Bob with M2. Alice signs what
    // she sees; the server relays it to Bob unchanged.
    const aliceSees: LinkView = { ...viewOfA, remoteFingerprint: FP_M1 };
    const bobSees: LinkView = { ...viewOfB, remoteFingerprint: FP_M2 };
    const relayed = await proveIdentity(signerA, aliceSees);
    const result = checkIdentity(relayed, bobSees);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'FINGERPRINT_MISMATCH');
    // Rewriting the diagnostic fields to match Bob's view does not help: the signature decides.
    const dressed: HandshakeProof = { ...relayed, fp: FP_M2, peerFp: FP_B };
    const again = checkIdentity(dressed, bobSees);
    assert.equal(!again.ok && again.code, 'BAD_SIGNATURE');
  });

  it('does not carry over to another room, another peer, or with the ends swapped', async () => {
    const proof = await proveIdentity(signerA, viewOfA);
    const elsewhere: LinkView[] = [
      { ...viewOfB, room: 'random' },
      { ...viewOfB, room: '' },
      { ...viewOfB, localPeerId: 'CCCCCCCCCCCCCCCCCCCC' },
      { ...viewOfB, remotePeerId: 'CCCCCCCCCCCCCCCCCCCC' },
      { ...viewOfB, localPeerId: PEER_A, remotePeerId: PEER_B },
      viewOfA, // reflected back to its signer
    ];
    for (const view of elsewhere) {
      const result = checkIdentity(proof, view);
      assert.equal(result.ok, false, `expected a refusal for ${JSON.stringify(view)}`);
    }
  });

  it('refuses a forged identity: Bob’s key claimed, Mallory’s signature', async () => {
    const bob = generateIdentity();
    const liar = { publicKey: bob.publicKey, sign: rawSigner(mallory.secretKey).sign };
    const result = checkIdentity(await proveIdentity(liar, viewOfA), viewOfB);
    assert.equal(!result.ok && result.code, 'BAD_SIGNATURE');
  });

  it('refuses the signature with any one byte changed', async () => {
    const proof = await proveIdentity(signerA, viewOfA);
    const sig = fromBase64url(proof.sig);
    for (let i = 0; i < sig.length; i++) {
      const flipped = sig.slice();
      flipped[i]! ^= 1 << (i & 7);
      const result = checkIdentity({ ...proof, sig: toBase64url(flipped) }, viewOfB);
      assert.equal(result.ok, false, `byte ${i} changed`);
    }
  });

  it('refuses malformed proofs as BAD_MESSAGE', async () => {
    const proof = await proveIdentity(signerA, viewOfA);
    const notAPoint = toBase64url(new Uint8Array(33).fill(5)); // 0x05 is no SEC1 prefix
    const cases: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'hello'],
      ['an array', [proof]],
      ['bytes', new Uint8Array(8)],
      ['version 2', { ...proof, v: 2 }],
      ['no key', { ...proof, key: undefined }],
      ['a short key', { ...proof, key: proof.key.slice(4) }],
      ['a key that is no point', { ...proof, key: notAPoint }],
      ['a short signature', { ...proof, sig: proof.sig.slice(8) }],
      ['a non-base64url signature', { ...proof, sig: `${proof.sig.slice(1)}+` }],
      ['a numeric fingerprint', { ...proof, fp: 7 }],
      ['an extra field', { ...proof, extra: 1 }],
    ];
    for (const [what, data] of cases) {
      const result = checkIdentity(data, viewOfB);
      assert.equal(!result.ok && result.code, 'BAD_MESSAGE', `expected BAD_MESSAGE for ${what}`);
    }
  });
});
