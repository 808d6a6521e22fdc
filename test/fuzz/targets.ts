/**
 * Fuzz targets: one per protocol/ validator and crypto/ open/verify function, each
 * with valid seeds built here in code (deterministically: randomness is pinned while
 * seeds are made, so a finding's seed and iteration replay the same input) and a
 * `run` that says whether the input was accepted. Properties are in harness.ts.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import {
  backupFromText,
  backupToText,
  exportBackup,
  importBackup,
  parseBackup,
} from '../../crypto/backup.ts';
import { fromBase64url, fromHex, toBase64url, utf8 } from '../../crypto/bytes.ts';
import { rawAgreement } from '../../crypto/ecdh.ts';
import { openEnvelope, parseEnvelopeHeader, sealEnvelope } from '../../crypto/envelope.ts';
import { FILE_CHUNK_SIZE, openFileChunk, sealFileChunk } from '../../crypto/file.ts';
import { FrameOpener, FrameReceiver, FrameSealer, peekFrameHeader } from '../../crypto/frame.ts';
import { GroupKeyRing } from '../../crypto/group-keys.ts';
import { identityFromSecretKey } from '../../crypto/identity.ts';
import { createInvite, parseInvite, parseInviteLink, verifyInvite } from '../../crypto/invite.ts';
import {
  openMessage,
  peekMessageHeader,
  sealMessage,
  verifyMessage,
  verifyMessageAsync,
} from '../../crypto/message.ts';
import { ReplayGuard } from '../../crypto/replay-guard.ts';
import { rawSigner, signStatementSync, verifyStatement, verifyStatementAsync } from '../../crypto/sign.ts';
import { encodeStatement, type Field } from '../../crypto/statement.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { parseFrame } from '../../protocol/frame.ts';
import { authMessage, clientMessage, clientMessages } from '../../protocol/messages.ts';
import {
  encodeRelay,
  MAX_FRAME_BYTES,
  MAX_RELAY_MESSAGE,
  MAX_TICKET_BYTES,
  mintRelayTicket,
  parseClientRelayMessage,
  parseServerRelayMessage,
  verifyRelayTicket,
} from '../../protocol/relay.ts';
import { type Check, validate } from '../../protocol/validate.ts';
import { CRYPTO_ERRORS, NEVER_THROWS, type Outcome, PropertyViolation, type Target } from './harness.ts';
import {
  type ByteHints,
  type Json,
  jsonText,
  mutateBytes,
  mutateJson,
  mutateText,
  type Rng,
  randomJson,
} from './mutate.ts';

// ---- helpers ---------------------------------------------------------------------

const N = p256.Point.Fn.ORDER;
const HALF_N = N >> 1n;

function bigOf(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function bytesOf(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = n; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The signature `r ‖ s` with s in the low half: (r, s) and (r, n − s) are the same signature. */
function lowS(signature: Uint8Array): Uint8Array {
  const s = bigOf(signature.subarray(32, 64));
  if (signature.length !== 64 || s <= HALF_N) return signature;
  const out = signature.slice();
  out.set(bytesOf(N - s, 32), 32);
  return out;
}

/** The high-S twin of a signature at `at` (what a mutator aiming at ECDSA malleability makes). */
function twin(bytes: Uint8Array, at: number): Uint8Array {
  if (bytes.length < at + 64) return bytes.slice();
  const out = bytes.slice();
  const s = bigOf(bytes.subarray(at + 32, at + 64));
  if (s === 0n || s >= N) return out;
  out.set(bytesOf(N - s, 32), at + 32);
  return out;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Same bytes, except that a 64-byte signature at `at` (negative: from the end) is compared low-S. */
function sameSigned(at: number) {
  return (seed: Uint8Array, input: Uint8Array): boolean => {
    if (seed.length !== input.length) return false;
    const i = at < 0 ? input.length + at : at;
    return (
      equal(seed.subarray(0, i), input.subarray(0, i)) &&
      equal(seed.subarray(i + 64), input.subarray(i + 64)) &&
      equal(lowS(seed.subarray(i, i + 64)), lowS(input.subarray(i, i + 64)))
    );
  };
}

function violated(what: string): never {
  throw new PropertyViolation(what);
}

/** Byte mutation of a random seed; one time in 16 the high-S twin of its signature at `sigAt`. */
function byteMutator(seeds: readonly Uint8Array[], hints: ByteHints = {}, sigAt?: (b: Uint8Array) => number) {
  return (rng: Rng): Uint8Array => {
    const base = rng.pick(seeds);
    if (sigAt !== undefined && rng.chance(1 / 16)) {
      const t = twin(base, sigAt(base));
      return rng.chance(0.5) ? t : mutateBytes(rng, t, seeds, hints);
    }
    return mutateBytes(rng, base, seeds, hints);
  };
}

const sigAtEnd = (b: Uint8Array) => b.length - 64;

/**
 * Runs `build` with `crypto.getRandomValues` replaced by a seeded generator, so the
 * seeds (message ids, nonces, ephemeral keys, salts) are the same on every run.
 */
async function deterministic<T>(build: () => Promise<T>): Promise<T> {
  const original = crypto.getRandomValues;
  let state = 0x9e3779b9;
  const fill = <A extends ArrayBufferView | null>(array: A): A => {
    if (array === null) return array;
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bytes[i] = state >>> 24;
    }
    return array;
  };
  Object.defineProperty(crypto, 'getRandomValues', { value: fill, configurable: true, writable: true });
  try {
    return await build();
  } finally {
    Object.defineProperty(crypto, 'getRandomValues', { value: original, configurable: true, writable: true });
    // Restore the prototype's method (the own property shadowed it).
    delete (crypto as { getRandomValues?: unknown }).getRandomValues;
  }
}

const counter = (n: number) => (length: number) => new Uint8Array(length).fill(n);

// ---- protocol ---------------------------------------------------------------------

/** The signal server's default frame limit (signal/config.ts). */
const FRAME_LIMIT = 64 * 1024;
const USER = 'A'.repeat(43) + 'g';
const ID16 = 'B'.repeat(21) + 'A';

/** One valid fixture per client message type (each covers its optional fields too). */
export const CLIENT_FIXTURES: readonly Json[] = [
  { type: 'subscribe', topics: ['a', 'lobby'], room: 'r1' },
  { type: 'unsubscribe', topics: ['a'] },
  {
    type: 'publish',
    topic: 'lobby',
    room: 'r1',
    data: { type: 'signal', to: 'x', signal: { sdp: 'v=0', n: [1, 2] } },
  },
  { type: 'ping' },
  {
    type: 'channel.create',
    ref: 1,
    name: 'General',
    kind: 'voice',
    parent: 'abc',
    settings: {
      name: 'x',
      topic: '',
      bitrate: 64000,
      userLimit: 0,
      locked: false,
      ephemeral: 0,
      meshLimit: 8,
    },
  },
  { type: 'channel.update', ref: 2, channel: 'abc', settings: { topic: 'hi' } },
  { type: 'channel.delete', ref: 3, channel: 'abc' },
  { type: 'channel.move', ref: 4, channel: 'abc', parent: 'def', index: 0 },
  { type: 'voice.join', ref: 5, channel: 'abc' },
  { type: 'voice.leave', ref: 6 },
  { type: 'voice.state', ref: 7, muted: false, deafened: true },
  { type: 'member.rename', ref: 8, member: USER, name: 'Alice 👋' },
  { type: 'member.kick', ref: 9, member: USER, reason: 'spam' },
  { type: 'member.ban', ref: 10, member: USER },
  { type: 'member.unban', ref: 11, member: USER },
  { type: 'member.mute', ref: 12, member: USER, muted: true },
  { type: 'member.move', ref: 13, member: USER, channel: 'abc' },
  { type: 'member.roles', ref: 14, member: USER, roles: ['member', 'mod'] },
  { type: 'member.list', ref: 15 },
  { type: 'server.leave', ref: 16 },
  {
    type: 'invite.create',
    ref: 17,
    role: 'member',
    expiresIn: 3600,
    maxUses: 10,
    channel: 'abc',
    bundle: 'AQID',
  },
  { type: 'invite.list', ref: 18 },
  { type: 'invite.revoke', ref: 19, id: ID16 },
  { type: 'invite.bundle', ref: 20 },
  { type: 'turn.credentials', ref: 21 },
  { type: 'ticket.create', ref: 22, room: 'r1' },
  { type: 'log.append', ref: 23, log: 'general', kind: 'update', blob: 'AQID', id: ID16 },
  { type: 'log.fetch', ref: 24, log: 'dm:a:b', after: 0, limit: 50 },
  { type: 'log.compact', ref: 25, log: 'general', upTo: 5, blob: '' },
  { type: 'blob.put', ref: 26, log: 'general', file: ID16, index: 0, count: 2, data: 'AQID' },
  { type: 'blob.get', ref: Number.MAX_SAFE_INTEGER, log: 'general', file: ID16, index: 1 },
];

const AUTH_FIXTURES: readonly Json[] = [
  { type: 'auth', v: 1, key: USER, time: 1_700_000_000_000, sig: 'C'.repeat(86) },
  {
    type: 'auth',
    v: 1,
    key: USER,
    time: 0,
    sig: 'C'.repeat(86),
    pow: 'AAAA',
    invite: 'abc-_DEF',
    name: 'Bob',
  },
];

function textTarget(name: string, check: Check<unknown>, fixtures: readonly Json[]): Target<string> {
  const seeds = fixtures.map((f) => JSON.stringify(f));
  return {
    name,
    seeds,
    typedErrors: NEVER_THROWS,
    encode: utf8,
    mutate(rng) {
      if (rng.chance(0.3)) return mutateText(rng, rng.pick(seeds), seeds);
      return jsonText(rng, mutateJson(rng, rng.pick(fixtures), fixtures));
    },
    run(text) {
      const result = parseFrame(text, FRAME_LIMIT, check);
      if (result instanceof ProtocolError) {
        if (result.code !== 'BAD_MESSAGE' && result.code !== 'TOO_LARGE')
          violated(`parseFrame returned ${result.code}, not BAD_MESSAGE or TOO_LARGE`);
        return 'rejected';
      }
      // Idempotence: the accepted value, written and read again, is accepted as the same value.
      const again = parseFrame(JSON.stringify(result), FRAME_LIMIT, check);
      if (again instanceof ProtocolError)
        violated(`accepted value does not validate again: ${again.message}`);
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(again)), JSON.parse(JSON.stringify(result))))
        violated('accepted value changed when validated again');
      return 'accepted';
    },
  };
}

/** Values JSON text cannot carry, for validators called on in-process values. */
function exotic(rng: Rng): unknown {
  return rng.pick<() => unknown>([
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => Number.NEGATIVE_INFINITY,
    () => -0,
    () => undefined,
    () => 1n,
    () => Symbol('x'),
    () => Object.create(null),
    () => new Uint8Array(3),
    () => new Date(0),
    () => {
      const holey: unknown[] = [];
      holey[1] = 1;
      return holey;
    },
    () => () => 1,
    () => new String('ping'),
    () => new Number(1),
    () => ({ toString: () => 'ping', valueOf: () => 1 }),
  ])();
}

function exoticMutate(rng: Rng, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return exotic(rng);
  const o = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(o);
  if (keys.length === 0 || rng.chance(0.2))
    return rng.chance(0.5) ? exotic(rng) : Object.assign(Object.create({ type: 'ping' }), o);
  const k = rng.pick(keys);
  (o as Record<string, unknown>)[k] = rng.chance(0.7)
    ? exotic(rng)
    : exoticMutate(rng, (o as Record<string, unknown>)[k]);
  return o;
}

/** True for values JSON.parse can produce (plain objects and arrays, finite numbers, strings, booleans, null). */
function isPlainJson(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v))
    return Object.keys(v).length === v.length && v.every((x) => isPlainJson(x, depth + 1));
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v).every((x) => isPlainJson(x, depth + 1));
}

function validateTarget(): Target<unknown> {
  const types = Object.keys(clientMessages) as (keyof typeof clientMessages)[];
  return {
    name: 'protocol.validate',
    seeds: CLIENT_FIXTURES,
    typedErrors: NEVER_THROWS,
    encode: (v) => utf8(inspect(v, { depth: 8, maxStringLength: 256, maxArrayLength: 32 })),
    mutate(rng) {
      const base = rng.pick(CLIENT_FIXTURES);
      if (rng.chance(0.35)) return exoticMutate(rng, base);
      if (rng.chance(0.05)) return randomJson(rng, 4);
      return mutateJson(rng, base, CLIENT_FIXTURES);
    },
    run(value) {
      const r = validate(clientMessage, value);
      // The tagged union and the variant it names must agree.
      const tag =
        typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
      const variant = types.find((t) => t === tag);
      if (variant !== undefined) {
        const direct = validate(clientMessages[variant] as typeof clientMessage, value);
        if (direct.ok !== r.ok) violated(`clientMessage and clientMessages[${variant}] disagree`);
      } else if (r.ok) violated('accepted a message with an unknown type');
      if (!r.ok) return 'rejected';
      if (r.value !== value) violated('validator returned another value than its input');
      const again = validate(clientMessage, value);
      if (!again.ok) violated(`accepted value is refused the second time: ${again.error.message}`);
      // Only plain JSON values come off the wire; those must survive a JSON round trip.
      // (An in-process Date or class instance passes `object` with all-optional fields.)
      if (isPlainJson(value)) {
        const copy = validate(clientMessage, JSON.parse(JSON.stringify(value)));
        if (!copy.ok) violated(`accepted value does not survive JSON: ${copy.error.message}`);
      }
      return 'accepted';
    },
  };
}

// ---- relay ------------------------------------------------------------------------

const RELAY_SERVER = identityFromSecretKey(new Uint8Array(32).fill(7));
const RELAY_USER = identityFromSecretKey(new Uint8Array(32).fill(9));
const TICKET_EXPIRES = 1_900_000_000;

/** A relay wire parser: it never throws, and what it accepts re-encodes to the same message. */
function relayParser<M extends { type: string }>(
  name: string,
  seeds: readonly Uint8Array[],
  hints: ByteHints,
  parse: (bytes: Uint8Array) => M | { type: 'invalid' },
  reencode: (m: M) => Uint8Array,
): Target<Uint8Array> {
  return {
    name,
    seeds,
    typedErrors: NEVER_THROWS,
    encode: (b) => b,
    mutate: byteMutator(seeds, hints),
    run(bytes) {
      const m = parse(bytes);
      if (m.type === 'invalid') return 'rejected';
      const again = parse(reencode(m as M));
      if (!isDeepStrictEqual(again, m)) violated(`re-encoded ${m.type} parses differently`);
      return 'accepted';
    },
  };
}

function relayTargets(): Target<Uint8Array>[] {
  const tickets = [
    mintRelayTicket(
      RELAY_SERVER.secretKey,
      { user: RELAY_USER.publicKey, channel: 'lounge', expiresAt: TICKET_EXPIRES },
      counter(0xab),
    ),
    mintRelayTicket(
      RELAY_SERVER.secretKey,
      { user: RELAY_SERVER.publicKey, channel: 'a'.repeat(32), expiresAt: 0xffffffff },
      counter(1),
    ),
    mintRelayTicket(
      RELAY_SERVER.secretKey,
      { user: RELAY_USER.publicKey, channel: 'x', expiresAt: TICKET_EXPIRES },
      counter(2),
    ),
  ];
  const clientSeeds = [
    encodeRelay.hello(tickets[0]!),
    encodeRelay.frame(new Uint8Array([0x78, 1, 2, 3])),
    encodeRelay.frame(new Uint8Array(MAX_FRAME_BYTES).fill(5)),
    encodeRelay.leave(),
    encodeRelay.listen(true),
    encodeRelay.listen(false),
    encodeRelay.ping(0xdeadbeef),
    encodeRelay.signal({ kind: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0' }),
    encodeRelay.signal({ kind: 'candidate', candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host', mid: '0' }),
  ];
  const serverSeeds = [
    encodeRelay.joined(7),
    encodeRelay.forward(65535, 0xffffffff, new Uint8Array([0x78, 9])),
    encodeRelay.peer(3, RELAY_USER.publicKey),
    encodeRelay.gone(3),
    encodeRelay.error('RATE_LIMITED'),
    encodeRelay.signal({ kind: 'answer', sdp: 'v=0' }),
    encodeRelay.pong(7),
  ];
  const hints = {
    lengths: [MAX_RELAY_MESSAGE, MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES + 7, MAX_TICKET_BYTES + 1, 34, 35],
  };
  const reencodeClient = (m: Exclude<ReturnType<typeof parseClientRelayMessage>, { type: 'invalid' }>) => {
    switch (m.type) {
      case 'hello':
        return encodeRelay.hello(m.ticket);
      case 'frame':
        return encodeRelay.frame(m.frame);
      case 'leave':
        return encodeRelay.leave();
      case 'signal':
        return encodeRelay.signal(m.signal);
      case 'listen':
        return encodeRelay.listen(m.listening);
      case 'ping':
        return encodeRelay.ping(m.nonce);
      case 'notice':
        return encodeRelay.notice(m.notice);
    }
  };
  const reencodeServer = (m: Exclude<ReturnType<typeof parseServerRelayMessage>, { type: 'invalid' }>) => {
    switch (m.type) {
      case 'joined':
        return encodeRelay.joined(m.slot);
      case 'forward':
        return encodeRelay.forward(m.slot, m.seq, m.frame);
      case 'peer':
        return encodeRelay.peer(m.slot, m.user);
      case 'gone':
        return encodeRelay.gone(m.slot);
      case 'error':
        return encodeRelay.error(m.code);
      case 'signal':
        return encodeRelay.signal(m.signal);
      case 'pong':
        return encodeRelay.pong(m.nonce);
    }
  };
  return [
    relayParser('relay.parseClientRelayMessage', clientSeeds, hints, parseClientRelayMessage, reencodeClient),
    relayParser('relay.parseServerRelayMessage', serverSeeds, hints, parseServerRelayMessage, reencodeServer),
    {
      name: 'relay.verifyRelayTicket',
      seeds: tickets,
      typedErrors: NEVER_THROWS,
      encode: (b) => b,
      same: sameSigned(-64),
      mutate: byteMutator(tickets, { lengths: [MAX_TICKET_BYTES, MAX_TICKET_BYTES + 1, 155, 156] }, sigAtEnd),
      run(bytes) {
        const r = verifyRelayTicket(bytes, RELAY_SERVER.publicKey, (TICKET_EXPIRES - 1) * 1000);
        if (!r.ok) {
          if (!['BAD_TICKET', 'BAD_SIGNATURE', 'EXPIRED'].includes(r.code))
            violated(`unknown ticket code ${r.code}`);
          return 'rejected';
        }
        return 'accepted';
      },
    },
  ];
}

// ---- crypto: signatures ------------------------------------------------------------

const SIGN_CONTEXT = 'tincan/fuzz/v1';
const SIGNER = identityFromSecretKey(new Uint8Array(32).fill(3));

function signTargets(): Target<Uint8Array>[] {
  const messages = [utf8('hello'), new Uint8Array(0), new Uint8Array(200).fill(0xee)];
  // input = signature (64) ‖ the signed field
  const seeds = messages.map(
    (m) => new Uint8Array([...signStatementSync(SIGNER.secretKey, SIGN_CONTEXT, [m]), ...m]),
  );
  // input = public key (33) ‖ signature (64) ‖ field
  const keyed = seeds.map((s) => new Uint8Array([...SIGNER.publicKey, ...s]));
  const split = (b: Uint8Array) => [b.subarray(0, 64), b.subarray(64)] as const;
  return [
    {
      name: 'sign.verifyStatement',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(0),
      mutate: byteMutator(seeds, { lengths: [63, 64, 65] }, () => 0),
      run(b) {
        const [sig, field] = split(b);
        return verifyStatement(SIGNER.publicKey, sig, SIGN_CONTEXT, [field]) ? 'accepted' : 'rejected';
      },
    },
    {
      name: 'sign.verifyStatementAsync',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(0),
      mutate: byteMutator(seeds, { lengths: [63, 64, 65] }, () => 0),
      async run(b) {
        const [sig, field] = split(b);
        const sync =
          sig.length === 64 ? verifyStatement(SIGNER.publicKey, sig, SIGN_CONTEXT, [field]) : undefined;
        const valid = await verifyStatementAsync(SIGNER.publicKey, sig, SIGN_CONTEXT, [field]);
        if (sync !== undefined && sync !== valid) violated(`noble says ${sync}, WebCrypto says ${valid}`);
        return valid ? 'accepted' : 'rejected';
      },
    },
    {
      name: 'sign.verifyStatement.key',
      seeds: keyed,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(33),
      mutate: byteMutator(keyed, { lengths: [33, 97] }, () => 33),
      run(b) {
        const key = b.subarray(0, 33);
        return verifyStatement(key, b.subarray(33, 97), SIGN_CONTEXT, [b.subarray(97)])
          ? 'accepted'
          : 'rejected';
      },
    },
  ];
}

// ---- crypto: statement (an encoder: round-trip through a reference decoder) ------------

/** Decodes a statement per crypto/statement.ts's grammar; undefined when it does not parse. */
function decodeStatement(b: Uint8Array): { context: string; fields: Field[] } | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 1 || b.length < 5) return undefined;
  const ctxLen = view.getUint32(1);
  let at = 5 + ctxLen;
  if (at > b.length) return undefined;
  const context = new TextDecoder().decode(b.subarray(5, at));
  const fields: Field[] = [];
  while (at < b.length) {
    const tag = b[at]!;
    if (at + 5 > b.length) return undefined;
    const len = view.getUint32(at + 1);
    const value = b.subarray(at + 5, at + 5 + len);
    if (value.length !== len) return undefined;
    if (tag === 1) fields.push(value.slice());
    else if (tag === 2) fields.push(new TextDecoder().decode(value));
    else if (tag === 3 && len === 8) fields.push(view.getUint32(at + 5) * 2 ** 32 + view.getUint32(at + 9));
    else return undefined;
    at += 5 + len;
  }
  return { context, fields };
}

function statementTarget(): Target<{ context: string; fields: Field[] }> {
  const seeds = [
    { context: 'tincan/message/v1', fields: [utf8('abc'), 'text', 0, Number.MAX_SAFE_INTEGER] as Field[] },
    { context: 'a', fields: [] as Field[] },
  ];
  const field = (rng: Rng): Field =>
    rng.pick<() => Field>([
      () => rng.bytes(rng.int(40)),
      () => rng.pick(['', 'a', '\u0000', '👋', 'x'.repeat(300)]),
      () => rng.pick([0, 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, 1.5, -0, Number.NaN]),
    ])();
  return {
    name: 'statement.encodeStatement',
    seeds,
    typedErrors: CRYPTO_ERRORS,
    encode: (s) => utf8(inspect(s, { depth: 4 })),
    mutate(rng) {
      const base = rng.pick(seeds);
      const fields = base.fields.slice();
      for (let i = rng.range(1, 3); i > 0; i--) {
        if (rng.chance(0.5) || fields.length === 0) fields.splice(rng.int(fields.length + 1), 0, field(rng));
        else fields.splice(rng.int(fields.length), 1);
      }
      const context = rng.chance(0.8) ? base.context : mutateText(rng, base.context);
      return { context, fields };
    },
    run({ context, fields }) {
      const encoded = encodeStatement(context, fields);
      const decoded = decodeStatement(encoded);
      if (decoded === undefined) violated('encoding does not follow the documented grammar');
      // Strings that are not well-formed UTF-16 encode lossily (U+FFFD): compare after the same round trip.
      // -0 is the integer 0.
      const norm = (f: Field) =>
        typeof f === 'string' ? new TextDecoder().decode(utf8(f)) : f === 0 ? 0 : f;
      if (decoded.context !== context || !isDeepStrictEqual(decoded.fields, fields.map(norm)))
        violated('statement does not decode to its fields (two field lists could share an encoding)');
      return 'accepted';
    },
  };
}

// ---- crypto: sealed messages ------------------------------------------------------------

async function messageTargets(): Promise<Target<Uint8Array>[]> {
  const alice = identityFromSecretKey(new Uint8Array(32).fill(11));
  const bob = identityFromSecretKey(new Uint8Array(32).fill(12));
  const { seeds, distribution } = await deterministic(async () => {
    const ring = new GroupKeyRing('general', alice.publicKey, { graceMs: 60_000, now: () => 0 });
    const distribution = ring.createMyKey();
    const signer = rawSigner(alice.secretKey);
    const seeds = [
      await sealMessage(signer, ring, utf8('hello 👋')),
      await sealMessage(signer, ring, new Uint8Array(0)),
      await sealMessage(signer, ring, new Uint8Array(300).fill(0x41)),
    ];
    return { seeds, distribution };
  });
  const receiver = () => {
    const ring = new GroupKeyRing('general', bob.publicKey, { graceMs: 60_000, now: () => 0 });
    ring.install(distribution);
    return ring;
  };
  const hints = { lengths: [0, 1, 173, 174, 180] };
  const mutate = byteMutator(seeds, hints, sigAtEnd);
  const peekAgrees = (
    sealed: Uint8Array,
    header: { id: Uint8Array; channelId: string; epoch: number; iteration: number },
  ) => {
    const peek = peekMessageHeader(sealed);
    if (
      !equal(peek.id, header.id) ||
      peek.channelId !== header.channelId ||
      peek.epoch !== header.epoch ||
      peek.iteration !== header.iteration
    )
      violated('peekMessageHeader disagrees with the verified header');
  };
  return [
    {
      name: 'message.openMessage',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(-64),
      mutate,
      run(sealed) {
        const opened = openMessage(receiver(), sealed, new ReplayGuard());
        peekAgrees(sealed, opened);
        return 'accepted';
      },
    },
    {
      name: 'message.verifyMessage',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(-64),
      mutate,
      run(sealed) {
        const verified = verifyMessage(sealed);
        peekAgrees(sealed, verified);
        // A verified token opens (or is refused with a typed error) like the bytes do.
        openMessage(receiver(), verified, new ReplayGuard());
        return 'accepted';
      },
    },
    {
      name: 'message.verifyMessageAsync',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(-64),
      mutate,
      async run(sealed): Promise<Outcome> {
        const verified = await verifyMessageAsync(sealed);
        peekAgrees(sealed, verified);
        return 'accepted';
      },
    },
  ];
}

// ---- crypto: voice frames ---------------------------------------------------------------

function frameTargets(): Target<Uint8Array>[] {
  const secret = new Uint8Array(32).fill(21);
  const alice = identityFromSecretKey(new Uint8Array(32).fill(22)).publicKey;
  const toc = new FrameSealer(secret, alice, 7);
  const plain = new FrameSealer(secret, alice, 300, { clearToc: false });
  const opus = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 0x78 : i * 13));
  const sevens = [
    toc.seal(opus(1)),
    toc.seal(opus(80)),
    toc.seal(opus(160), 1000),
    toc.seal(opus(3), 0xffffffff),
  ];
  const three = [plain.seal(new Uint8Array(0)), plain.seal(opus(90), 0x10000000)];
  const all = [...sevens, ...three];
  const hints = { lengths: [17, 18, 19, 20, 4096 + 27] };
  const opener = () => new FrameOpener(secret, alice, 7);
  return [
    {
      name: 'frame.FrameOpener.open',
      seeds: sevens,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: equal,
      mutate: byteMutator(sevens, hints),
      run(frame) {
        const o = opener();
        const opened = o.open(frame);
        if (peekFrameHeader(frame).counter !== opened.counter)
          violated('peekFrameHeader disagrees with open');
        return 'accepted';
      },
    },
    {
      name: 'frame.FrameOpener.openInPlace',
      seeds: sevens,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: equal,
      mutate: byteMutator(sevens, hints),
      run(frame) {
        const copy = frame.slice();
        try {
          opener().openInPlace(copy);
        } catch (error) {
          if (!equal(copy, frame)) violated('openInPlace changed the frame before refusing it');
          throw error;
        }
        return 'accepted';
      },
    },
    {
      name: 'frame.FrameReceiver.open',
      seeds: all,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: equal,
      mutate: byteMutator(all, hints),
      run(frame) {
        const r = new FrameReceiver();
        r.add(7, secret, alice);
        r.add(300, secret, alice);
        r.open(frame);
        return 'accepted';
      },
    },
  ];
}

// ---- crypto: file chunks ----------------------------------------------------------------

interface Chunk {
  readonly index: number;
  readonly count: number;
  readonly sealed: Uint8Array;
}

function fileTarget(): Target<Chunk> {
  const key = new Uint8Array(32).fill(31);
  const id = new Uint8Array(16).fill(32);
  const fill = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
  let nonce = 0;
  const random = (n: number) => new Uint8Array(n).fill(++nonce);
  const seeds: Chunk[] = [
    { index: 0, count: 1, sealed: sealFileChunk(key, id, 0, 1, fill(0), random) },
    { index: 0, count: 1, sealed: sealFileChunk(key, id, 0, 1, fill(100), random) },
    { index: 0, count: 2, sealed: sealFileChunk(key, id, 0, 2, fill(FILE_CHUNK_SIZE), random) },
    { index: 1, count: 2, sealed: sealFileChunk(key, id, 1, 2, fill(1), random) },
  ];
  const sealedSeeds = seeds.map((s) => s.sealed);
  return {
    name: 'file.openFileChunk',
    seeds,
    typedErrors: CRYPTO_ERRORS,
    encode: (c) =>
      new Uint8Array([
        ...fromHex(c.index.toString(16).padStart(8, '0')),
        ...fromHex(c.count.toString(16).padStart(8, '0')),
        ...c.sealed,
      ]),
    same: (a, b) => a.index === b.index && a.count === b.count && equal(a.sealed, b.sealed),
    mutate(rng) {
      const base = rng.pick(seeds);
      // Reordering (another index/count for the same bytes) is an attack too.
      if (rng.chance(0.2)) {
        const other = rng.pick(seeds);
        return { index: other.index, count: other.count, sealed: base.sealed };
      }
      const sealed = mutateBytes(rng, base.sealed, sealedSeeds, {
        lengths: [41, 42, FILE_CHUNK_SIZE + 41, FILE_CHUNK_SIZE + 42],
      });
      return { ...base, sealed };
    },
    run(c) {
      openFileChunk(key, id, c.index, c.count, c.sealed);
      return 'accepted';
    },
  };
}

// ---- crypto: envelopes ------------------------------------------------------------------

async function envelopeTargets(): Promise<Target<Uint8Array>[]> {
  const alice = identityFromSecretKey(new Uint8Array(32).fill(41));
  const bob = identityFromSecretKey(new Uint8Array(32).fill(42));
  const context = 'tincan/group-key/v1 chan-1 epoch-0';
  const seeds = await deterministic(async () => [
    await sealEnvelope(rawSigner(alice.secretKey), bob.publicKey, context, utf8('key')),
    await sealEnvelope(rawSigner(alice.secretKey), bob.publicKey, context, new Uint8Array(0)),
  ]);
  const agreement = rawAgreement(bob.secretKey);
  const mutate = byteMutator(seeds, { lengths: [100, 200, 234, 235] }, sigAtEnd);
  return [
    {
      name: 'envelope.openEnvelope',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: sameSigned(-64),
      mutate,
      async run(envelope): Promise<Outcome> {
        await openEnvelope(agreement, envelope, { context, expectedSender: alice.publicKey });
        return 'accepted';
      },
    },
    {
      name: 'envelope.parseEnvelopeHeader',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      mutate,
      run(envelope) {
        const h = parseEnvelopeHeader(envelope);
        if (!equal(h.sender, envelope.subarray(1, 34)))
          violated('header sender is not the bytes after the version');
        return 'accepted';
      },
    },
  ];
}

// ---- crypto: invites --------------------------------------------------------------------

async function inviteTargets(): Promise<Target<string>[]> {
  const server = identityFromSecretKey(new Uint8Array(32).fill(51));
  const signer = rawSigner(server.secretKey);
  const now = 1_800_000_000;
  const fields = { serverPublicKey: server.publicKey, role: 'member', expiresAt: now + 3600, maxUses: 10 };
  const created = [
    await createInvite(signer, fields, counter(1)),
    await createInvite(signer, { ...fields, channelId: 'General_1', maxUses: 0 }, counter(2)),
    await createInvite(signer, { ...fields, withBundleSecret: true, expiresAt: 0xffffffff }, counter(3)),
  ];
  const tokens = created.map((c) => c.token);
  const fragments = created.map((c) => c.fragment);
  const tokenBytes = tokens.map(fromBase64url);
  const sameBytes = sameSigned(-64);
  /** Mutate the decoded bytes (and re-encode) most of the time, the text the rest. */
  const mutateToken = (rng: Rng, pool: readonly string[]): string => {
    if (rng.chance(0.3)) return mutateText(rng, rng.pick(pool), pool);
    const base = rng.pick(tokenBytes);
    const bytes = rng.chance(1 / 16)
      ? twin(base, base.length - 64)
      : mutateBytes(rng, base, tokenBytes, { lengths: [137, 138, 200, 383, 384] });
    return toBase64url(bytes);
  };
  const reparse = (invite: ReturnType<typeof parseInvite>) => {
    const again = parseInvite(toBase64url(new Uint8Array([...invite.signed, ...invite.signature])));
    if (!isDeepStrictEqual(again, invite)) violated('a parsed invite re-encodes to another invite');
  };
  return [
    {
      name: 'invite.parseInvite',
      seeds: tokens,
      typedErrors: CRYPTO_ERRORS,
      encode: utf8,
      mutate: (rng) => mutateToken(rng, tokens),
      run(token) {
        reparse(parseInvite(token));
        return 'accepted';
      },
    },
    {
      name: 'invite.parseInviteLink',
      seeds: fragments,
      typedErrors: CRYPTO_ERRORS,
      encode: utf8,
      mutate(rng) {
        const f = rng.pick(fragments);
        const [token, secret] = f.split('.');
        switch (rng.int(4)) {
          case 0:
            return mutateText(rng, f, fragments);
          case 1:
            return `${rng.chance(0.5) ? '#' : ''}${mutateToken(rng, tokens)}${secret === undefined ? '' : `.${secret}`}`;
          case 2:
            return `${token}.${toBase64url(mutateBytes(rng, secret ? fromBase64url(secret) : new Uint8Array(32), [], { lengths: [31, 32, 33] }))}`;
          default:
            return rng.pick(['#', '', '.', '..']) + f + rng.pick(['', '.', '#', '.AAAA']);
        }
      },
      run(fragment) {
        const link = parseInviteLink(fragment);
        reparse(link.invite);
        if (link.invite.hasBundleSecret !== (link.secret !== undefined))
          violated('bundle flag and secret disagree');
        return 'accepted';
      },
    },
    {
      name: 'invite.verifyInvite',
      seeds: tokens,
      typedErrors: CRYPTO_ERRORS,
      encode: utf8,
      same: (seed, input) => {
        try {
          return sameBytes(fromBase64url(seed), fromBase64url(input));
        } catch {
          return false; // not base64url: cannot be a seed
        }
      },
      mutate: (rng) => mutateToken(rng, tokens),
      run(token) {
        const invite = verifyInvite(token, {
          now,
          serverPublicKey: server.publicKey,
          trustedIssuers: [server.publicKey],
        });
        // An Invite object with edited fields must verify as its signed bytes say.
        const edited = { ...invite, role: 'admin', maxUses: 0, expiresAt: 0xffffffff };
        const again = verifyInvite(edited, { now });
        if (!isDeepStrictEqual(again, invite))
          violated('verifyInvite trusted edited fields of an Invite object');
        return 'accepted';
      },
    },
  ];
}

// ---- crypto: backups --------------------------------------------------------------------

async function backupTargets(): Promise<Target<Uint8Array>[]> {
  const identity = identityFromSecretKey(new Uint8Array(32).fill(61));
  const passphrase = 'correct horse';
  // Cheap scrypt (N = 16) so importing is fast; parameters are pinned for import below.
  const seeds = await deterministic(async () => [
    await exportBackup(identity, passphrase, { logN: 4, r: 1, p: 1 }),
  ]);
  const params = seeds[0]!.subarray(2, 5).slice();
  const hints = { lengths: [86, 87, 88] };
  return [
    {
      name: 'backup.parseBackup',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      mutate: byteMutator(seeds, hints),
      run(backup) {
        const r = parseBackup(backup);
        if (!equal(r.publicKey, backup.subarray(21, 54)))
          violated('parsed public key is not the bytes at offset 21');
        if (!equal(parseBackup(backupFromText(backupToText(backup))).publicKey, r.publicKey))
          violated('text form does not round-trip');
        return 'accepted';
      },
    },
    {
      name: 'backup.importBackup',
      seeds,
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      same: equal,
      mutate(rng) {
        const b = mutateBytes(rng, seeds[0]!, seeds, hints);
        // Keep the scrypt cost of the seed: a mutated cost is parseBackup's business, and
        // an allowed one (up to N·r·p = 2^23) would make each input take a second.
        if (b.length >= 5) b.set(params, 2);
        return b;
      },
      async run(backup): Promise<Outcome> {
        const restored = await importBackup(backup, passphrase);
        if (!equal(restored.publicKey, identity.publicKey)) violated('import returned another identity');
        return 'accepted';
      },
    },
    {
      name: 'backup.backupFromText',
      seeds: seeds.map((s) => utf8(backupToText(s))),
      typedErrors: CRYPTO_ERRORS,
      encode: (b) => b,
      mutate(rng) {
        const text = backupToText(seeds[0]!);
        return utf8(
          rng.chance(0.5)
            ? mutateText(rng, text)
            : `  ${text}\n`.replace('tincan', rng.pick(['tincan', 'TINCAN', ''])),
        );
      },
      run(bytes) {
        backupFromText(new TextDecoder().decode(bytes));
        return 'accepted';
      },
    },
  ];
}

// ---- all --------------------------------------------------------------------------------

/** Every target, seeds built. */
export async function makeTargets(): Promise<Target<unknown>[]> {
  return [
    textTarget('protocol.parseFrame.clientMessage', clientMessage, CLIENT_FIXTURES),
    textTarget('protocol.parseFrame.authMessage', authMessage, AUTH_FIXTURES),
    validateTarget(),
    ...relayTargets(),
    ...signTargets(),
    statementTarget(),
    ...(await messageTargets()),
    ...frameTargets(),
    fileTarget(),
    ...(await envelopeTargets()),
    ...(await inviteTargets()),
    ...(await backupTargets()),
  ];
}

export type { Outcome };
