/**
 * Key entries: how a member hands its sender key for (conversation, epoch) to other
 * members through the conversation's log (`log.append` with `kind: 'key'`). The
 * server stores and pushes the entry like any other; only each named recipient can
 * open its envelope.
 *
 *   entry     = 0x01 ‖ recipient*
 *   recipient = recipient public key (33) ‖ envelope length (u32 BE) ‖ envelope
 *   envelope  = sealEnvelope(owner, recipient, distributionContext(conversation, epoch),
 *                            serializeSenderKey(one of owner's chains at its first state))
 *
 * An owner may have several chains for one (conversation, epoch), one per device it
 * sends from (key-manager.ts); an entry carries one of them, and any device of the
 * owner's identity may seal any of them (each is the sealer's own key, which is what
 * `openKeyEntry` checks).
 *
 * The recipient key is in clear so a reader finds its envelope without trying every
 * one (the server learns who got a key, which it knows anyway: the members). One
 * entry carries at most `MAX_KEY_ENTRY_BYTES`; more recipients take more entries.
 */
import { concat, equalBytes, readU32, u32 } from '../../crypto/bytes.ts';
import type { Agreement } from '../../crypto/ecdh.ts';
import { openEnvelope, parseEnvelopeHeader, sealEnvelope } from '../../crypto/envelope.ts';
import { distributionContext } from '../../crypto/group-keys.ts';
import { PUBLIC_KEY_LENGTH } from '../../crypto/identity.ts';
import { deserializeSenderKey, type SenderKey } from '../../crypto/sender-key.ts';
import type { Signer } from '../../crypto/sign.ts';
import { CoreError } from './errors.ts';

export const KEY_ENTRY_VERSION = 1;
/** Bytes of one entry: ~100 recipients, well under a 64 KiB frame once base64url-encoded. */
export const MAX_KEY_ENTRY_BYTES = 40 * 1024;
const MAX_ENVELOPE_BYTES = 4096;
const CONTEXT = /^tincan\/sender-key\/v1 (\S+) (\d+)$/;

export interface KeyEnvelope {
  recipient: Uint8Array;
  envelope: Uint8Array;
}

export function encodeKeyEntry(items: readonly KeyEnvelope[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(KEY_ENTRY_VERSION)];
  for (const { recipient, envelope } of items) parts.push(recipient, u32(envelope.length), envelope);
  return concat(...parts);
}

/** Splits an entry into its envelopes; throws `BAD_FORMAT` on anything malformed. */
export function decodeKeyEntry(bytes: Uint8Array): KeyEnvelope[] {
  if (bytes[0] !== KEY_ENTRY_VERSION) throw new CoreError('BAD_FORMAT', 'unknown key entry version');
  if (bytes.length > 1 << 20) throw new CoreError('BAD_FORMAT', 'key entry too large');
  const items: KeyEnvelope[] = [];
  let at = 1;
  while (at < bytes.length) {
    if (at + PUBLIC_KEY_LENGTH + 4 > bytes.length) throw new CoreError('BAD_FORMAT', 'key entry truncated');
    const recipient = bytes.slice(at, at + PUBLIC_KEY_LENGTH);
    const length = readU32(bytes, at + PUBLIC_KEY_LENGTH);
    at += PUBLIC_KEY_LENGTH + 4;
    if (length > MAX_ENVELOPE_BYTES || at + length > bytes.length)
      throw new CoreError('BAD_FORMAT', 'key entry envelope does not fit');
    items.push({ recipient, envelope: bytes.slice(at, at + length) });
    at += length;
  }
  return items;
}

/**
 * Seals `distribution` (serialized sender key bytes) to every recipient and packs
 * the envelopes into as few entries as `maxBytes` allows.
 */
export async function sealKeyEntries(
  signer: Signer,
  conversation: string,
  epoch: number,
  distribution: Uint8Array,
  recipients: readonly Uint8Array[],
  maxBytes = MAX_KEY_ENTRY_BYTES,
): Promise<Uint8Array[]> {
  const context = distributionContext(conversation, epoch);
  const entries: Uint8Array[] = [];
  let batch: KeyEnvelope[] = [];
  let size = 1;
  for (const recipient of recipients) {
    const envelope = await sealEnvelope(signer, recipient, context, distribution);
    const cost = PUBLIC_KEY_LENGTH + 4 + envelope.length;
    if (batch.length > 0 && size + cost > maxBytes) {
      entries.push(encodeKeyEntry(batch));
      batch = [];
      size = 1;
    }
    batch.push({ recipient, envelope });
    size += cost;
  }
  if (batch.length > 0) entries.push(encodeKeyEntry(batch));
  return entries;
}

/**
 * Finds and opens the envelope addressed to `agreement` in an entry. Returns
 * undefined when none is for us. Checks that the envelope's context names this
 * conversation, and that the key inside belongs to whoever sealed it (a member hands
 * over only its own key this way) and to the epoch of the context.
 */
export async function openKeyEntry(
  agreement: Agreement,
  conversation: string,
  bytes: Uint8Array,
): Promise<{ key: SenderKey; sender: Uint8Array } | undefined> {
  const mine = decodeKeyEntry(bytes).find((item) => equalBytes(item.recipient, agreement.publicKey));
  if (!mine) return undefined;
  const header = parseEnvelopeHeader(mine.envelope);
  const match = CONTEXT.exec(header.context);
  if (!match || match[1] !== conversation) throw new CoreError('BAD_FORMAT', 'key envelope for another log');
  const epoch = Number(match[2]);
  const { sender, plaintext } = await openEnvelope(agreement, mine.envelope, {
    context: distributionContext(conversation, epoch),
  });
  const key = deserializeSenderKey(plaintext);
  if (key.channelId !== conversation || key.epoch !== epoch || !equalBytes(key.senderPublicKey, sender))
    throw new CoreError('BAD_FORMAT', 'key envelope holds a key that is not its sealer’s for this epoch');
  return { key, sender };
}
