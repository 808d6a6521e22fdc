/**
 * Prints our own golden vectors (see README.md). Run by hand, never by tests:
 *
 *   node --import tsx test/vectors/generate.ts envelope > test/vectors/envelope.json
 *
 * Formats: statement, fingerprint, signature, envelope, backup, invite, file. Keys are
 * SHA-256 of a label, so a rerun gives the same keys; envelopes and backups use
 * fresh randomness, so their bytes change on every run (tests open them instead of
 * comparing), while statements, fingerprints, signatures, invites and file chunks
 * (with injected nonces) are exact.
 * Regenerate only when a format change is intended, and say so in the commit.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { backupToText, exportBackup, parseBackup } from '../../crypto/backup.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { parseEnvelopeHeader, sealEnvelope } from '../../crypto/envelope.ts';
import { FILE_CHUNK_SIZE, fileChunkCount, fileChunkLength, sealFileChunk } from '../../crypto/file.ts';
import { fingerprint, identityFromSecretKey, safetyNumber, userIdOf } from '../../crypto/identity.ts';
import { createInvite } from '../../crypto/invite.ts';
import { rawSigner, signStatementSync } from '../../crypto/sign.ts';
import { encodeStatement, type Field } from '../../crypto/statement.ts';

const keyOf = (label: string) => identityFromSecretKey(sha256(utf8(`tincan test vector key ${label}`)));
const alice = keyOf('alice');
const bob = keyOf('bob');
const carol = keyOf('carol');
const server = keyOf('server');
const bytes = (label: string, length: number) => sha256(utf8(label)).slice(0, length);
/** The plaintext of the file vectors: byte i is (seed + 7 i) mod 256. */
const fill = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (seed + i * 7) & 0xff);

type JsonField = { bytes: string } | { string: string } | { uint: number };
const jsonField = (f: Field): JsonField =>
  f instanceof Uint8Array ? { bytes: toHex(f) } : typeof f === 'string' ? { string: f } : { uint: f };

const statementCases: { context: string; fields: Field[] }[] = [
  { context: 'tincan/test/v1', fields: [] },
  { context: 'tincan/test/v1', fields: [new Uint8Array([1, 2]), 'hé', 7] },
  { context: 'tincan/auth/v1', fields: [1, alice.publicKey, 'server', Number.MAX_SAFE_INTEGER, new Uint8Array()] },
  { context: 'tincan/test/v1', fields: ['', '🎧 voice', 0] },
];

async function generate(format: string): Promise<unknown> {
  switch (format) {
    case 'statement':
      return {
        description: 'encodeStatement(context, fields) → hex (crypto/statement.ts)',
        cases: statementCases.map(({ context, fields }) => ({
          context,
          fields: fields.map(jsonField),
          encoded: toHex(encodeStatement(context, fields)),
        })),
      };
    case 'fingerprint':
      return {
        description: 'userIdOf, fingerprint and safetyNumber of fixed keys (crypto/identity.ts)',
        keys: [alice, bob, carol].map((k) => ({
          secretKey: toHex(k.secretKey),
          publicKey: toHex(k.publicKey),
          userId: userIdOf(k.publicKey),
          fingerprint: fingerprint(k.publicKey),
        })),
        safetyNumbers: [
          { a: toHex(alice.publicKey), b: toHex(bob.publicKey), safetyNumber: safetyNumber(alice.publicKey, bob.publicKey) },
          { a: toHex(carol.publicKey), b: toHex(alice.publicKey), safetyNumber: safetyNumber(carol.publicKey, alice.publicKey) },
        ],
      };
    case 'signature':
      return {
        description:
          'signStatementSync (noble: RFC 6979 deterministic k, low-S) over the statement cases (crypto/sign.ts)',
        cases: statementCases.map(({ context, fields }) => ({
          secretKey: toHex(alice.secretKey),
          publicKey: toHex(alice.publicKey),
          context,
          fields: fields.map(jsonField),
          signature: toHex(signStatementSync(alice.secretKey, context, fields)),
        })),
      };
    case 'envelope': {
      const cases = [
        { sender: alice, recipient: bob, context: 'tincan/group-key/v1 chan-42 epoch-3', plaintext: bytes('group key', 32) },
        { sender: carol, recipient: alice, context: 'x', plaintext: new Uint8Array() },
        { sender: bob, recipient: bob, context: 'tincan/note-to-self/v1', plaintext: utf8('a secret for myself') },
      ];
      return {
        description:
          'sealEnvelope output with fixed keys and random ephemeral key/nonce: tests open it (crypto/envelope.ts)',
        cases: await Promise.all(
          cases.map(async ({ sender, recipient, context, plaintext }) => {
            const envelope = await sealEnvelope(rawSigner(sender.secretKey), recipient.publicKey, context, plaintext);
            return {
              senderPublicKey: toHex(sender.publicKey),
              recipientSecretKey: toHex(recipient.secretKey),
              recipientPublicKey: toHex(recipient.publicKey),
              context,
              plaintext: toHex(plaintext),
              ephemeralPublicKey: toHex(parseEnvelopeHeader(envelope).ephemeral),
              envelope: toHex(envelope),
            };
          }),
        ),
      };
    }
    case 'backup': {
      const cases = [
        { identity: alice, passphrase: 'correct horse battery staple', params: { logN: 10, r: 8, p: 1 } },
        // Sealed with the composed "é" (NFC); the vector's passphrase is decomposed (NFD).
        { identity: bob, passphrase: 'caf\u00e9 au lait', open: 'cafe\u0301 au lait', params: { logN: 4, r: 1, p: 1 } },
        { identity: carol, passphrase: 'production parameters', params: { logN: 17, r: 8, p: 1 } },
      ];
      return {
        description: 'exportBackup output with fixed identities and random salt/nonce: tests import it (crypto/backup.ts)',
        cases: await Promise.all(
          cases.map(async ({ identity, passphrase, open, params }) => {
            const backup = await exportBackup(identity, passphrase, params);
            return {
              secretKey: toHex(identity.secretKey),
              publicKey: toHex(identity.publicKey),
              passphrase: open ?? passphrase,
              params: parseBackup(backup).params,
              backup: toHex(backup),
              text: backupToText(backup),
            };
          }),
        ),
      };
    }
    case 'invite': {
      const cases = [
        {
          issuer: server,
          fields: { serverPublicKey: server.publicKey, role: 'admin', expiresAt: 1893456000, maxUses: 1 },
          label: 'admin',
        },
        {
          issuer: alice,
          fields: {
            serverPublicKey: server.publicKey,
            role: 'member',
            expiresAt: 1767225600,
            maxUses: 25,
            channelId: 'general',
            withBundleSecret: true,
          },
          label: 'member',
        },
      ];
      return {
        description:
          'createInvite with fixed keys and a fixed random source (id, then secret): exact tokens (crypto/invite.ts)',
        cases: await Promise.all(
          cases.map(async ({ issuer, fields, label }) => {
            const id = bytes(`invite id ${label}`, 16);
            const secret = bytes(`invite secret ${label}`, 32);
            const queue = [id, secret];
            const created = await createInvite(rawSigner(issuer.secretKey), fields, () => queue.shift()!);
            return {
              issuerSecretKey: toHex(issuer.secretKey),
              issuerPublicKey: toHex(issuer.publicKey),
              serverPublicKey: toHex(server.publicKey),
              serverId: toHex(created.invite.serverId),
              id: toHex(id),
              secret: fields.withBundleSecret ? toHex(secret) : null,
              role: fields.role,
              expiresAt: fields.expiresAt,
              maxUses: fields.maxUses,
              channelId: fields.channelId ?? null,
              token: created.token,
              fragment: created.fragment,
            };
          }),
        ),
      };
    }
    case 'file': {
      const key = bytes('file key', 32);
      const files = [
        { label: 'two chunks', size: FILE_CHUNK_SIZE + 5, seed: 1 },
        { label: 'one chunk', size: 11, seed: 2 },
        { label: 'empty', size: 0, seed: 3 },
      ];
      return {
        description:
          'sealFileChunk with a fixed key, file ids and injected nonces: version 0x01 ‖ nonce (24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag, AAD = encodeStatement("tincan/file-chunk/v1", [1, file id, index, count]) (crypto/file.ts). Plaintext byte i of a file is (seed + 7 i) mod 256; chunks over 1 KiB are given by their SHA-256',
        key: toHex(key),
        chunkSize: FILE_CHUNK_SIZE,
        files: files.map(({ label, size, seed }) => {
          const fileId = bytes(`file id ${label}`, 16);
          const plaintext = fill(size, seed);
          const count = fileChunkCount(size);
          const chunks = [];
          for (let index = 0; index < count; index++) {
            const nonce = bytes(`file nonce ${label} ${index}`, 24);
            const start = index * FILE_CHUNK_SIZE;
            const part = plaintext.subarray(start, start + fileChunkLength(size, index));
            const sealed = sealFileChunk(key, fileId, index, count, part, () => nonce);
            chunks.push({
              index,
              nonce: toHex(nonce),
              aad: toHex(encodeStatement('tincan/file-chunk/v1', [1, fileId, index, count])),
              ...(sealed.length > 1024 ? { sealedSha256: toHex(sha256(sealed)) } : { sealed: toHex(sealed) }),
              sealedLength: sealed.length,
            });
          }
          return { label, fileId: toHex(fileId), size, seed, count, chunks };
        }),
      };
    }
    default:
      throw new Error(`unknown format ${format}; try statement, fingerprint, signature, envelope, backup, invite, file`);
  }
}

const format = process.argv[2] ?? '';
process.stdout.write(`${JSON.stringify(await generate(format), null, 2)}\n`);
