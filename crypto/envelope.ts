/**
 * Envelopes: a secret (a group key, a key bundle) sealed by one identity for one
 * member. The shape of HPKE's base mode (RFC 9180 §5.1.1: ephemeral-static DH,
 * KDF, AEAD), not its wire format, plus the sender's signature.
 *
 *   envelope = 0x01 ‖ sender pub (33) ‖ recipient pub (33) ‖ ephemeral pub (33)
 *              ‖ context len (u8) ‖ context (ASCII) ‖ sealed (nonce 24 ‖ ct ‖ tag 16) ‖ signature (64)
 *
 * - Key: ephemeral-static ECDH (fresh ephemeral × recipient identity, ecdh.ts) →
 *   HKDF-SHA256 (RFC 5869) with salt = ephemeral pub ‖ recipient pub and an info
 *   naming the context → XChaCha20-Poly1305 (aead.ts).
 * - AAD binds version, sender, recipient, context and ephemeral key, so an envelope
 *   cannot be re-signed by someone else (the sender is inside the AEAD) nor moved to
 *   another purpose.
 * - The sender's identity signs every byte before the signature, so the recipient
 *   learns who sealed it (ECDH alone authenticates nobody).
 * - Both keys travel in full: the sender key verifies the signature without a
 *   lookup, the recipient key lets a store route envelopes and lets a device with
 *   several identities pick the right one; 66 bytes are cheap next to the signature.
 * - The context (1–255 printable ASCII, e.g. `tincan/group-key/v1 chan-42 epoch-3`)
 *   is in clear so a mismatch is a clear `MISMATCH`, not an opaque decrypt failure.
 */
import { p256 } from '@noble/curves/nist.js';
import { NONCE_LENGTH, open, seal, TAG_LENGTH } from './aead.ts';
import { abytes, astring, concat, equalBytes, fromUtf8, utf8 } from './bytes.ts';
import { type Agreement, sharedSecret } from './ecdh.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from './identity.ts';
import { deriveKey } from './kdf.ts';
import { assertStatement, SIGNATURE_LENGTH, type Signer, signStatement } from './sign.ts';
import { encodeStatement } from './statement.ts';

export const ENVELOPE_VERSION = 1;
const SIGNATURE_CONTEXT = 'tincan/envelope/v1';
const AAD_CONTEXT = 'tincan/envelope-aad/v1';
const KEY_INFO = 'tincan/envelope/v1 key ';
const CONTEXT_PATTERN = /^[\x21-\x7e][\x20-\x7e]*$/;
const MAX_CONTEXT_LENGTH = 255;
const HEADER_FIXED = 1 + 3 * PUBLIC_KEY_LENGTH + 1;
/** Bytes an envelope adds to its plaintext, besides the context string. */
export const ENVELOPE_OVERHEAD = HEADER_FIXED + NONCE_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH;

export interface EnvelopeHeader {
  readonly version: number;
  readonly sender: Uint8Array;
  readonly recipient: Uint8Array;
  readonly ephemeral: Uint8Array;
  readonly context: string;
}

interface ParsedEnvelope extends EnvelopeHeader {
  /** Every byte the signature covers: header ‖ sealed. */
  readonly signed: Uint8Array;
  readonly sealed: Uint8Array;
  readonly signature: Uint8Array;
}

export interface OpenOptions {
  /** The context the caller expects; anything else is `MISMATCH`. */
  readonly context: string;
  /** When given, an envelope from anyone else is `MISMATCH`. */
  readonly expectedSender?: Uint8Array;
}

function assertContext(context: unknown): asserts context is string {
  astring(context, 'context', MAX_CONTEXT_LENGTH);
  if (!CONTEXT_PATTERN.test(context))
    throw new CryptoError(
      'BAD_INPUT',
      'context must be 1–255 printable ASCII characters, not starting with a space',
    );
}

function aad(sender: Uint8Array, recipient: Uint8Array, context: string, ephemeral: Uint8Array): Uint8Array {
  return encodeStatement(AAD_CONTEXT, [ENVELOPE_VERSION, sender, recipient, context, ephemeral]);
}

function envelopeKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array, context: string) {
  return deriveKey(shared, concat(ephemeral, recipient), KEY_INFO + context);
}

/** Seals `plaintext` for `recipientPublicKey` and signs the result with `signer`. */
export async function sealEnvelope(
  signer: Signer,
  recipientPublicKey: Uint8Array,
  context: string,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  assertPublicKey(signer?.publicKey, 'signer.publicKey');
  assertPublicKey(recipientPublicKey, 'recipientPublicKey');
  assertContext(context);
  abytes(plaintext, undefined, 'plaintext');
  const sender = signer.publicKey;
  const ephemeralSecret = p256.utils.randomSecretKey();
  const ephemeral = p256.getPublicKey(ephemeralSecret, true);
  const shared = sharedSecret(ephemeralSecret, recipientPublicKey);
  ephemeralSecret.fill(0);
  const key = envelopeKey(shared, ephemeral, recipientPublicKey, context);
  shared.fill(0);
  const sealed = seal(key, plaintext, aad(sender, recipientPublicKey, context, ephemeral));
  key.fill(0);
  const contextBytes = utf8(context);
  const signed = concat(
    new Uint8Array([ENVELOPE_VERSION]),
    sender,
    recipientPublicKey,
    ephemeral,
    new Uint8Array([contextBytes.length]),
    contextBytes,
    sealed,
  );
  const signature = await signStatement(signer, SIGNATURE_CONTEXT, [signed]);
  abytes(signature, SIGNATURE_LENGTH, 'signature from signer');
  return concat(signed, signature);
}

function parse(envelope: Uint8Array): ParsedEnvelope {
  abytes(envelope, undefined, 'envelope');
  if (envelope.length < 1) throw new CryptoError('BAD_FORMAT', 'empty envelope');
  if (envelope[0] !== ENVELOPE_VERSION)
    throw new CryptoError('BAD_VERSION', `envelope version ${envelope[0]} is not ${ENVELOPE_VERSION}`);
  if (envelope.length < ENVELOPE_OVERHEAD + 1) throw new CryptoError('BAD_FORMAT', 'envelope too short');
  const key = (i: number, label: string) => {
    const bytes = envelope.slice(1 + i * PUBLIC_KEY_LENGTH, 1 + (i + 1) * PUBLIC_KEY_LENGTH);
    try {
      assertPublicKey(bytes, label);
    } catch (cause) {
      throw new CryptoError('BAD_FORMAT', `envelope ${label} is not a P-256 point`, { cause });
    }
    return bytes;
  };
  const contextLength = envelope[HEADER_FIXED - 1]!;
  const sealedStart = HEADER_FIXED + contextLength;
  const signatureStart = envelope.length - SIGNATURE_LENGTH;
  if (contextLength === 0 || signatureStart - sealedStart < NONCE_LENGTH + TAG_LENGTH)
    throw new CryptoError('BAD_FORMAT', 'envelope context length does not fit');
  const context = fromUtf8(envelope.subarray(HEADER_FIXED, sealedStart));
  if (!CONTEXT_PATTERN.test(context))
    throw new CryptoError('BAD_FORMAT', 'envelope context is not printable ASCII');
  return {
    version: ENVELOPE_VERSION,
    sender: key(0, 'sender'),
    recipient: key(1, 'recipient'),
    ephemeral: key(2, 'ephemeral'),
    context,
    signed: envelope.slice(0, signatureStart),
    sealed: envelope.slice(sealedStart, signatureStart),
    signature: envelope.slice(signatureStart),
  };
}

/**
 * Reads who sealed an envelope, for whom and in which context, without verifying
 * anything (for routing and display only). Throws `BAD_VERSION` or `BAD_FORMAT`.
 */
export function parseEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  const { version, sender, recipient, ephemeral, context } = parse(envelope);
  return { version, sender, recipient, ephemeral, context };
}

/**
 * Opens an envelope sealed for `agreement`'s key. Checks, in order: format
 * (`BAD_VERSION`/`BAD_FORMAT`), the sender's signature (`BAD_SIGNATURE`), sender,
 * recipient and context against what is expected (`MISMATCH`), then decrypts
 * (`DECRYPT_FAILED`).
 */
export async function openEnvelope(
  agreement: Agreement,
  envelope: Uint8Array,
  options: OpenOptions,
): Promise<{ sender: Uint8Array; plaintext: Uint8Array }> {
  assertPublicKey(agreement?.publicKey, 'agreement.publicKey');
  assertContext(options?.context);
  if (options.expectedSender !== undefined) assertPublicKey(options.expectedSender, 'expectedSender');
  const parsed = parse(envelope);
  assertStatement(parsed.sender, parsed.signature, SIGNATURE_CONTEXT, [parsed.signed]);
  if (options.expectedSender !== undefined && !equalBytes(parsed.sender, options.expectedSender))
    throw new CryptoError('MISMATCH', 'envelope is from another sender');
  if (!equalBytes(parsed.recipient, agreement.publicKey))
    throw new CryptoError('MISMATCH', 'envelope is sealed for another recipient');
  if (parsed.context !== options.context)
    throw new CryptoError('MISMATCH', `envelope context is ${JSON.stringify(parsed.context)}`);
  const shared = await agreement.deriveSharedSecret(parsed.ephemeral);
  const key = envelopeKey(shared, parsed.ephemeral, parsed.recipient, parsed.context);
  shared.fill(0);
  try {
    const plaintext = open(
      key,
      parsed.sealed,
      aad(parsed.sender, parsed.recipient, parsed.context, parsed.ephemeral),
    );
    return { sender: parsed.sender, plaintext };
  } finally {
    key.fill(0);
  }
}
