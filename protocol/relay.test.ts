import { fromHex, toHex, utf8 } from '../crypto/bytes.ts';
import { generateIdentity, identityFromSecretKey } from '../crypto/identity.ts';
import { deepEqual, equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte } from '../test/helpers/tamper.ts';
import {
  encodeRelay,
  MAX_FRAME_BYTES,
  mintRelayTicket,
  mintSilenceNotice,
  NOTICE_LENGTH,
  NOTICE_TTL_MS,
  parseClientRelayMessage,
  parseServerRelayMessage,
  RELAY_TYPE,
  verifyRelayTicket,
  verifyRelayTicketAsync,
  verifySilenceNotice,
} from './relay.ts';

const server = identityFromSecretKey(new Uint8Array(32).fill(7));
const user = identityFromSecretKey(new Uint8Array(32).fill(9));
const EXPIRES = 1_900_000_000;
const fixedId = (n: number) => new Uint8Array(n).fill(0xab);

/** Golden: version ‖ flags (may speak) ‖ user ‖ 6 ‖ "lounge" ‖ expiresAt ‖ id ‖ RFC 6979 deterministic signature. */
const GOLDEN_TICKET =
  '0101027135fa4fd93a09dce98bbf681b4bfcf50e7c0d6354e62afb0bff2a3429617865066c6f756e6765713fb300' +
  'abababababababababababababababab0ac0a2b41a5281f1f5a1315973e93b7b036201b0697c7b3ce74d60d7907f' +
  'd9506146a1d644060c2ae1b856d6168edb342414cb73eae32999c5b1cff79838a9a8';

describe('relay ticket', () => {
  const ticket = mintRelayTicket(
    server.secretKey,
    { user: user.publicKey, channel: 'lounge', expiresAt: EXPIRES },
    fixedId,
  );

  it('encodes to the golden bytes', () => {
    equal(toHex(ticket), GOLDEN_TICKET, 'a format change must change this vector on purpose');
  });

  it('verifies and returns its fields', () => {
    const r = verifyRelayTicket(fromHex(GOLDEN_TICKET), server.publicKey, (EXPIRES - 1) * 1000);
    ok(r.ok, `expected a valid ticket, got ${JSON.stringify(r)}`);
    equal(r.ticket.channel, 'lounge');
    equal(r.ticket.expiresAt, EXPIRES);
    deepEqual(r.ticket.user, user.publicKey);
    deepEqual(r.ticket.id, fixedId(16));
    equal(r.ticket.canSpeak, true);
  });

  it('carries a listen-only flag, and the async (WebCrypto) check agrees', async () => {
    const listenOnly = mintRelayTicket(server.secretKey, {
      user: user.publicKey,
      channel: 'lounge',
      expiresAt: EXPIRES,
      canSpeak: false,
    });
    const r = await verifyRelayTicketAsync(listenOnly, server.publicKey, 0);
    ok(r.ok && !r.ticket.canSpeak, 'listen-only ticket verifies with canSpeak false');
    const forged = await verifyRelayTicketAsync(ticket, generateIdentity().publicKey, 0);
    equal(forged.ok ? 'ok' : forged.code, 'BAD_SIGNATURE');
    const expired = await verifyRelayTicketAsync(ticket, server.publicKey, EXPIRES * 1000);
    equal(expired.ok ? 'ok' : expired.code, 'EXPIRED');
    const flags = ticket.slice();
    flags[1] = 0x03;
    const unknown = await verifyRelayTicketAsync(flags, server.publicKey, 0);
    equal(unknown.ok ? 'ok' : unknown.code, 'BAD_TICKET', 'unknown flags');
  });

  it('is EXPIRED from expiresAt on', () => {
    const r = verifyRelayTicket(ticket, server.publicKey, EXPIRES * 1000);
    equal(r.ok ? 'ok' : r.code, 'EXPIRED');
  });

  it('is BAD_SIGNATURE under another server key', () => {
    const r = verifyRelayTicket(ticket, generateIdentity().publicKey, 0);
    equal(r.ok ? 'ok' : r.code, 'BAD_SIGNATURE');
  });

  it('refuses every one-byte change (BAD_TICKET or BAD_SIGNATURE, never ok)', () => {
    for (const [i, copy] of flipEachByte(ticket)) {
      const r = verifyRelayTicket(copy, server.publicKey, 0);
      ok(!r.ok, `flipping byte ${i} must not verify`);
      ok(r.code === 'BAD_TICKET' || r.code === 'BAD_SIGNATURE', `byte ${i}: got ${r.code}`);
    }
  });

  it('refuses truncated, extended and non-byte input as BAD_TICKET', () => {
    for (const bad of [ticket.subarray(0, 10), new Uint8Array([...ticket, 0]), new Uint8Array(0)]) {
      const r = verifyRelayTicket(bad, server.publicKey, 0);
      equal(r.ok ? 'ok' : r.code, 'BAD_TICKET', `length ${bad.length}`);
    }
    const r = verifyRelayTicket('abc' as unknown as Uint8Array, server.publicKey, 0);
    equal(r.ok ? 'ok' : r.code, 'BAD_TICKET', 'a string is not a ticket');
  });

  it('refuses to mint for a bad channel or user', () => {
    throwsCode(
      () => mintRelayTicket(server.secretKey, { user: user.publicKey, channel: 'Bad!', expiresAt: 1 }),
      'BAD_INPUT',
      'minting refuses it',
    );
    throwsCode(
      () => mintRelayTicket(server.secretKey, { user: new Uint8Array(33), channel: 'a', expiresAt: 1 }),
      'BAD_INPUT',
      'minting refuses it',
    );
  });
});

describe('relay silence notice', () => {
  const at = 1_800_000_000_123;
  const notice = mintSilenceNotice(server.secretKey, { user: user.publicKey, silenced: true, issuedAt: at });

  it('round-trips the user, the flag and the millisecond it was issued', async () => {
    equal(notice.length, NOTICE_LENGTH, 'fixed length');
    const r = await verifySilenceNotice(notice, server.publicKey, at + 1000);
    ok(r.ok, `a fresh notice verifies: ${JSON.stringify(r)}`);
    deepEqual(r.notice, { user: user.publicKey, silenced: true, issuedAt: at }, 'fields come back');
    const lifted = mintSilenceNotice(server.secretKey, {
      user: user.publicKey,
      silenced: false,
      issuedAt: at + 1,
    });
    const l = await verifySilenceNotice(lifted, server.publicKey, at + 1000);
    ok(l.ok && !l.notice.silenced && l.notice.issuedAt === at + 1, 'an unmute notice says silenced false');
  });

  it('refuses a notice tampered anywhere, from another key, expired, from the future, or of the wrong length', async () => {
    for (const [i, bad] of flipEachByte(notice)) {
      const r = await verifySilenceNotice(bad, server.publicKey, at);
      ok(!r.ok, `a notice with byte ${i} flipped is refused`);
    }
    const other = generateIdentity();
    const forged = mintSilenceNotice(other.secretKey, { user: user.publicKey, silenced: true, issuedAt: at });
    const f = await verifySilenceNotice(forged, server.publicKey, at);
    equal(f.ok ? 'ok' : f.code, 'BAD_SIGNATURE', 'signed by another key');
    const old = await verifySilenceNotice(notice, server.publicKey, at + NOTICE_TTL_MS);
    equal(old.ok ? 'ok' : old.code, 'EXPIRED', 'past its lifetime');
    const early = await verifySilenceNotice(notice, server.publicKey, at - 120_000);
    equal(early.ok ? 'ok' : early.code, 'BAD_TICKET', 'issued two minutes in the future');
    const short = await verifySilenceNotice(notice.subarray(1), server.publicKey, at);
    equal(short.ok ? 'ok' : short.code, 'BAD_TICKET', 'a byte short');
    throwsCode(
      () => mintSilenceNotice(server.secretKey, { user: user.publicKey, silenced: true, issuedAt: -1 }),
      'BAD_INPUT',
    );
  });
});

describe('relay wire', () => {
  it('encodes FORWARD to the golden bytes', () => {
    equal(toHex(encodeRelay.forward(258, 0x01020304, new Uint8Array([0xde, 0xad]))), '04010201020304dead');
  });

  it('round-trips every client message', () => {
    const ticket = new Uint8Array(140).fill(1);
    const cases: [Uint8Array, unknown][] = [
      [encodeRelay.hello(ticket), { type: 'hello', ticket }],
      [encodeRelay.frame(new Uint8Array([1, 2, 3])), { type: 'frame', frame: new Uint8Array([1, 2, 3]) }],
      [encodeRelay.leave(), { type: 'leave' }],
      [encodeRelay.listen(false), { type: 'listen', listening: false }],
      [encodeRelay.ping(0xfffffffe), { type: 'ping', nonce: 0xfffffffe }],
      [
        encodeRelay.signal({ kind: 'offer', sdp: 'v=0' }),
        { type: 'signal', signal: { kind: 'offer', sdp: 'v=0' } },
      ],
      [
        encodeRelay.signal({ kind: 'candidate', candidate: 'a=candidate:1', mid: '0' }),
        { type: 'signal', signal: { kind: 'candidate', candidate: 'a=candidate:1', mid: '0' } },
      ],
    ];
    for (const [bytes, expected] of cases) deepEqual(parseClientRelayMessage(bytes), expected);
  });

  it('round-trips every relay message', () => {
    const frame = new Uint8Array(MAX_FRAME_BYTES).fill(5);
    const cases: [Uint8Array, unknown][] = [
      [encodeRelay.joined(7), { type: 'joined', slot: 7 }],
      [
        encodeRelay.forward(65535, 0xffffffff, frame),
        { type: 'forward', slot: 65535, seq: 0xffffffff, frame },
      ],
      [encodeRelay.peer(3, user.publicKey), { type: 'peer', slot: 3, user: user.publicKey }],
      [encodeRelay.gone(3), { type: 'gone', slot: 3 }],
      [encodeRelay.error('RATE_LIMITED'), { type: 'error', code: 'RATE_LIMITED' }],
      [encodeRelay.pong(42), { type: 'pong', nonce: 42 }],
      [
        encodeRelay.signal({ kind: 'answer', sdp: 'v=0' }),
        { type: 'signal', signal: { kind: 'answer', sdp: 'v=0' } },
      ],
    ];
    for (const [bytes, expected] of cases) deepEqual(parseServerRelayMessage(bytes), expected);
  });

  it('refuses each malformed client message with BAD_MESSAGE or TOO_LARGE', () => {
    const code = (bytes: Uint8Array) => {
      const m = parseClientRelayMessage(bytes);
      return m.type === 'invalid' ? m.code : m.type;
    };
    equal(code(new Uint8Array(0)), 'BAD_MESSAGE', 'empty');
    equal(code(new Uint8Array([0xff, 1])), 'BAD_MESSAGE', 'unknown type');
    equal(code(new Uint8Array([RELAY_TYPE.HELLO])), 'BAD_MESSAGE', 'hello without a ticket');
    equal(code(new Uint8Array([RELAY_TYPE.HELLO, ...new Uint8Array(300)])), 'BAD_MESSAGE', 'long ticket');
    equal(code(new Uint8Array([RELAY_TYPE.FRAME])), 'BAD_MESSAGE', 'empty frame');
    equal(code(encodeRelay.frame(new Uint8Array(MAX_FRAME_BYTES + 1))), 'TOO_LARGE', 'oversized frame');
    equal(code(new Uint8Array([RELAY_TYPE.LEAVE, 0])), 'BAD_MESSAGE', 'leave with a body');
    equal(code(new Uint8Array([RELAY_TYPE.LISTEN, 2])), 'BAD_MESSAGE', 'listen 2');
    equal(code(new Uint8Array([RELAY_TYPE.LISTEN])), 'BAD_MESSAGE', 'listen without a byte');
    equal(code(new Uint8Array([RELAY_TYPE.PING, 1, 2, 3])), 'BAD_MESSAGE', 'ping with a short nonce');
    equal(code(new Uint8Array([RELAY_TYPE.PING, 1, 2, 3, 4, 5])), 'BAD_MESSAGE', 'ping with a long nonce');
    equal(code(new Uint8Array([RELAY_TYPE.SIGNAL, 0xff])), 'BAD_MESSAGE', 'signal not UTF-8');
    equal(code(new Uint8Array([RELAY_TYPE.SIGNAL, ...utf8('{"kind":"x"}')])), 'BAD_MESSAGE', 'bad kind');
    equal(
      code(new Uint8Array([RELAY_TYPE.SIGNAL, ...utf8('{"kind":"offer"}')])),
      'BAD_MESSAGE',
      'offer without sdp',
    );
    equal(code(new Uint8Array(20_000)), 'TOO_LARGE', 'over the message bound');
    equal(code(encodeRelay.frame(new Uint8Array(MAX_FRAME_BYTES))), 'frame', 'the largest frame passes');
  });

  it('refuses malformed relay messages', () => {
    const bad = [
      new Uint8Array([RELAY_TYPE.JOINED, 1]),
      new Uint8Array([RELAY_TYPE.FORWARD, 0, 1, 0, 0, 0, 1]),
      new Uint8Array([RELAY_TYPE.PEER, 0, 1, ...new Uint8Array(33)]),
      new Uint8Array([RELAY_TYPE.GONE]),
      new Uint8Array([RELAY_TYPE.ERROR, ...utf8('NOPE')]),
      new Uint8Array([RELAY_TYPE.HELLO, 1]),
    ];
    for (const bytes of bad) {
      const m = parseServerRelayMessage(bytes);
      equal(m.type, 'invalid', `type ${bytes[0]} length ${bytes.length} must be refused`);
    }
  });
});
