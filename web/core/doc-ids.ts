/**
 * Ids tied to one signed update. Every update a member seals is one Yjs transaction
 * made under a fresh Yjs clientID derived from the signed message header, and a new
 * message it posts sits under a key derived the same way:
 *
 *   h        = SHA-256(statement('tincan/doc-update/v1', [sender public key,
 *                                   conversation, epoch, iteration]))
 *   clientId = first 6 bytes of h, big-endian (48 bits: a safe integer, and far
 *              from Yjs's birthday bound for a chat's lifetime of updates)
 *   postId   = base64url(first 12 bytes of h)      (the ChatMessage id)
 *
 * So a reader checks without any state that an update only writes structs of its
 * own client and posts only under its own key: no member can take over another's
 * Yjs client or message id, whatever order updates arrive in. The (sender, epoch,
 * iteration) triple never repeats: the ratchet uses each iteration once.
 *
 * Plaintext of an update entry (sealed with sealMessage): 0x01 ‖ Yjs update (V1 encoding).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64url } from '../../crypto/bytes.ts';
import { encodeStatement } from '../../crypto/statement.ts';
import { CoreError } from './errors.ts';

export const DOC_PLAINTEXT_VERSION = 1;

export interface UpdateIds {
  clientId: number;
  postId: string;
}

export function updateIds(
  sender: Uint8Array,
  conversation: string,
  epoch: number,
  iteration: number,
): UpdateIds {
  const h = sha256(encodeStatement('tincan/doc-update/v1', [sender, conversation, epoch, iteration]));
  let clientId = 0;
  for (let i = 0; i < 6; i++) clientId = clientId * 256 + h[i]!;
  return { clientId, postId: toBase64url(h.slice(0, 12)) };
}

export function encodeDocPlaintext(update: Uint8Array): Uint8Array {
  const out = new Uint8Array(update.length + 1);
  out[0] = DOC_PLAINTEXT_VERSION;
  out.set(update, 1);
  return out;
}

export function decodeDocPlaintext(plaintext: Uint8Array): Uint8Array {
  if (plaintext[0] !== DOC_PLAINTEXT_VERSION || plaintext.length < 2)
    throw new CoreError('BAD_FORMAT', 'not a document update');
  return plaintext.subarray(1);
}
