/**
 * The identity proof two mesh peers exchange inside trystero's handshake, before
 * either admits the other. Each side signs, with its identity key, the DTLS
 * association it actually negotiated:
 *
 *   sig = ECDSA-P256(statement('tincan/mesh-handshake/v1',
 *           [room, signer's DTLS fingerprint, peer's DTLS fingerprint,
 *            signer's trystero peer id, peer's trystero peer id]))
 *   wire = { v: 1, key: signer's user id, sig, fp, peerFp }   (fp, peerFp: diagnostics only)
 *
 * The receiver rebuilds the statement from its own RTCPeerConnection (its remote
 * fingerprint is the signer's local one and vice versa) and checks the signature
 * under `key`. The DTLS handshake has already proved that the other end holds the
 * private key of the remote fingerprint, so a valid signature means: the holder of
 * `key` is the far end of this very DTLS association. A signal server that swapped
 * SDPs to sit in the middle terminates two associations with its own certificate;
 * an honest peer's signature names the server's fingerprint, not ours, and fails.
 * Certificates are per RTCPeerConnection, so a proof never fits another link; the
 * room keeps a proof for one room (membership differs per room) out of another that
 * shares the connection; the peer ids pin trystero's naming of both ends.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { publicKeyOf } from '../../crypto/identity.ts';
import { type Signer, signStatement, verifyStatement } from '../../crypto/sign.ts';
import type { Field } from '../../crypto/statement.ts';
import { userId } from '../../protocol/messages.ts';
import { base64url, literal, object, string, validate } from '../../protocol/validate.ts';

export const MESH_HANDSHAKE_CONTEXT = 'tincan/mesh-handshake/v1';

/** Why a peer was not admitted (stable codes, for logs and UI). */
export type MeshRejectCode =
  /** The proof is not well-formed (shape, key not on P-256). */
  | 'BAD_MESSAGE'
  /** The signature does not verify under the claimed key over the link we negotiated. */
  | 'BAD_SIGNATURE'
  /** The peer signed DTLS fingerprints other than the ones this link negotiated (a middle-man). */
  | 'FINGERPRINT_MISMATCH'
  /** Valid proof, but the caller's `isMember` does not know the key. */
  | 'NOT_MEMBER'
  /** No negotiated RTCPeerConnection with both fingerprints to bind the proof to. */
  | 'NO_LINK'
  /** The peer did not complete the handshake in time (or refused ours). */
  | 'HANDSHAKE_TIMEOUT';

/** One DTLS association as one side sees it. */
export interface LinkView {
  room: string;
  localFingerprint: string;
  remoteFingerprint: string;
  localPeerId: string;
  remotePeerId: string;
}

/** A type alias, not an interface, so it is assignable to trystero's `JsonValue`. */
export type HandshakeProof = { v: 1; key: string; sig: string; fp: string; peerFp: string };

const FINGERPRINT = string({ min: 1, max: 120 });
const proofShape = object({
  v: literal(1),
  key: userId,
  sig: base64url({ min: 64, max: 64 }),
  fp: FINGERPRINT,
  peerFp: FINGERPRINT,
});

/** The statement fields in the signer's order: its own fingerprint and peer id first. */
export function handshakeFields(
  room: string,
  signerFingerprint: string,
  peerFingerprint: string,
  signerPeerId: string,
  peerPeerId: string,
): Field[] {
  return [room, signerFingerprint, peerFingerprint, signerPeerId, peerPeerId];
}

/** What this side sends: its user id and its signature over `link` as it sees it. */
export async function proveIdentity(signer: Signer, link: LinkView): Promise<HandshakeProof> {
  const fields = handshakeFields(
    link.room,
    link.localFingerprint,
    link.remoteFingerprint,
    link.localPeerId,
    link.remotePeerId,
  );
  const sig = await signStatement(signer, MESH_HANDSHAKE_CONTEXT, fields);
  return {
    v: 1,
    key: toBase64url(signer.publicKey),
    sig: toBase64url(sig),
    fp: link.localFingerprint,
    peerFp: link.remoteFingerprint,
  };
}

export type IdentityCheck =
  | { ok: true; userId: string }
  | { ok: false; code: MeshRejectCode; detail: string };

/**
 * Checks a peer's proof against `link` as this side negotiated it. Only our own view
 * goes into the statement; the proof's `fp`/`peerFp` only pick the clearer reason.
 */
export function checkIdentity(data: unknown, link: LinkView): IdentityCheck {
  const parsed = validate(proofShape, data);
  if (!parsed.ok) return { ok: false, code: 'BAD_MESSAGE', detail: parsed.error.message };
  const proof = parsed.value;
  let publicKey: Uint8Array;
  let sig: Uint8Array;
  try {
    publicKey = publicKeyOf(proof.key);
    sig = fromBase64url(proof.sig);
  } catch (error) {
    return { ok: false, code: 'BAD_MESSAGE', detail: (error as Error).message };
  }
  const fields = handshakeFields(
    link.room,
    link.remoteFingerprint,
    link.localFingerprint,
    link.remotePeerId,
    link.localPeerId,
  );
  if (verifyStatement(publicKey, sig, MESH_HANDSHAKE_CONTEXT, fields)) return { ok: true, userId: proof.key };
  if (proof.fp !== link.remoteFingerprint || proof.peerFp !== link.localFingerprint) {
    return {
      ok: false,
      code: 'FINGERPRINT_MISMATCH',
      detail: `signed ${proof.fp} ⇄ ${proof.peerFp}, negotiated ${link.remoteFingerprint} ⇄ ${link.localFingerprint}`,
    };
  }
  return { ok: false, code: 'BAD_SIGNATURE', detail: `signature does not verify under ${proof.key}` };
}
