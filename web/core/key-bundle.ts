/**
 * Invite key bundles: the sender keys an inviter leaves on the server for whoever
 * opens its link, sealed with the random secret in the link's fragment (which the
 * server never sees), so a newcomer reads the current epoch without waiting for
 * members to come online.
 *
 *   bundle    = 0x01 ‖ salt (16) ‖ box
 *   box       = XChaCha20-Poly1305 (aead.ts) under HKDF-SHA256(secret, salt,
 *               'tincan/invite-bundle/v1'), AAD = statement('tincan/invite-bundle-aad/v1',
 *               [version, server public key, salt])
 *   plaintext = inviter public key (33) ‖ signature (64) ‖ (u16 BE length ‖ sender key)*
 *   signature = ECDSA by the inviter over statement('tincan/invite-bundle/v1',
 *               [server public key, salt, keys])
 *
 * Why a random salt and not the invite id, and why the AAD names the server rather
 * than the token: `invite.create` takes the bundle and mints the invite (id, token)
 * in one request, so neither exists when the bundle is sealed. The secret is fresh
 * per link, so the key is unique anyway; binding the server key keeps a bundle from
 * being replayed on another server, and the inviter's signature tells the newcomer
 * which member relayed the keys (each key is only as good as its owner's signed
 * messages: a relayed key grants reading, never authorship).
 */
import { open, seal } from '../../crypto/aead.ts';
import { concat, randomBytes } from '../../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../../crypto/identity.ts';
import { deriveKey } from '../../crypto/kdf.ts';
import { deserializeSenderKey, type SenderKey } from '../../crypto/sender-key.ts';
import { SIGNATURE_LENGTH, type Signer, signStatement, verifyStatement } from '../../crypto/sign.ts';
import { encodeStatement } from '../../crypto/statement.ts';
import { CoreError } from './errors.ts';

export const BUNDLE_VERSION = 1;
const SALT_LENGTH = 16;
const KEY_INFO = 'tincan/invite-bundle/v1';
const SIGNATURE_CONTEXT = 'tincan/invite-bundle/v1';
const AAD_CONTEXT = 'tincan/invite-bundle-aad/v1';
/** Overhead besides the keys: header, AEAD nonce and tag, inviter key, signature. */
const OVERHEAD = 1 + SALT_LENGTH + 24 + 16 + PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH;

function bundleKey(secret: Uint8Array, salt: Uint8Array): Uint8Array {
  return deriveKey(secret, salt, KEY_INFO);
}

function aad(serverKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return encodeStatement(AAD_CONTEXT, [BUNDLE_VERSION, serverKey, salt]);
}

/**
 * Seals as many of `keys` (distribution bytes, most important first) as fit in
 * `maxBytes`. Returns the bundle and how many keys it holds.
 */
export async function sealBundle(
  signer: Signer,
  secret: Uint8Array,
  serverKey: Uint8Array,
  keys: readonly Uint8Array[],
  maxBytes: number,
): Promise<{ bundle: Uint8Array; count: number }> {
  const parts: Uint8Array[] = [];
  let size = OVERHEAD;
  for (const key of keys) {
    if (size + 2 + key.length > maxBytes) break;
    parts.push(Uint8Array.of(key.length >>> 8, key.length & 0xff), key);
    size += 2 + key.length;
  }
  const packed = concat(...parts);
  const salt = randomBytes(SALT_LENGTH);
  const signature = await signStatement(signer, SIGNATURE_CONTEXT, [serverKey, salt, packed]);
  const key = bundleKey(secret, salt);
  const box = seal(key, concat(signer.publicKey, signature, packed), aad(serverKey, salt));
  key.fill(0);
  return { bundle: concat(Uint8Array.of(BUNDLE_VERSION), salt, box), count: parts.length / 2 };
}

/** Opens a bundle with the link's secret; throws (`BAD_FORMAT`, or the AEAD's `DECRYPT_FAILED`). */
export function openBundle(
  secret: Uint8Array,
  serverKey: Uint8Array,
  bundle: Uint8Array,
): { inviter: Uint8Array; keys: SenderKey[] } {
  if (bundle[0] !== BUNDLE_VERSION || bundle.length < OVERHEAD)
    throw new CoreError('BAD_FORMAT', 'not a key bundle');
  const salt = bundle.slice(1, 1 + SALT_LENGTH);
  const key = bundleKey(secret, salt);
  let plaintext: Uint8Array;
  try {
    plaintext = open(key, bundle.subarray(1 + SALT_LENGTH), aad(serverKey, salt));
  } finally {
    key.fill(0);
  }
  const inviter = plaintext.slice(0, PUBLIC_KEY_LENGTH);
  const signature = plaintext.slice(PUBLIC_KEY_LENGTH, PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH);
  const packed = plaintext.subarray(PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH);
  if (!verifyStatement(inviter, signature, SIGNATURE_CONTEXT, [serverKey, salt, packed]))
    throw new CoreError('BAD_FORMAT', 'bundle signature does not verify');
  const keys: SenderKey[] = [];
  for (let at = 0; at < packed.length; ) {
    const length = (packed[at]! << 8) | (packed[at + 1] ?? 0);
    if (at + 2 + length > packed.length) throw new CoreError('BAD_FORMAT', 'bundle key truncated');
    keys.push(deserializeSenderKey(packed.slice(at + 2, at + 2 + length)));
    at += 2 + length;
  }
  return { inviter, keys };
}
