import { deepEqual, equal, ok, rejectsCode, throwsCode } from '../test/helpers/assert.ts';
import {
  codeOf,
  extended,
  flipEachByte,
  NOT_BYTES,
  NOT_STRINGS,
  truncations,
} from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/invite.json' with { type: 'json' };
import { fromBase64url, fromHex, toBase64url, toHex } from './bytes.ts';
import { generateIdentity } from './identity.ts';
import {
  createInvite,
  type InviteFields,
  parseInvite,
  parseInviteLink,
  serverIdOf,
  verifyInvite,
} from './invite.ts';
import { rawSigner, type Signer } from './sign.ts';

const server = generateIdentity();
const alice = generateIdentity();
const serverSigner = rawSigner(server.secretKey);
const NOW = 1_800_000_000;
const FIELDS: InviteFields = {
  serverPublicKey: server.publicKey,
  role: 'member',
  expiresAt: NOW + 3600,
  maxUses: 10,
};

describe('invite', () => {
  it('round-trips every field', async () => {
    const created = await createInvite(rawSigner(alice.secretKey), { ...FIELDS, channelId: 'General_1' });
    const invite = parseInvite(created.token);
    deepEqual(invite.serverId, serverIdOf(server.publicKey));
    deepEqual(invite.issuer, alice.publicKey);
    equal(invite.id.length, 16);
    equal(invite.role, 'member');
    equal(invite.expiresAt, NOW + 3600);
    equal(invite.maxUses, 10);
    equal(invite.channelId, 'General_1');
    equal(invite.hasBundleSecret, false);
    equal(created.secret, undefined);
    equal(created.fragment, created.token);
    deepEqual(verifyInvite(created.token, { now: NOW }), invite);
    deepEqual(verifyInvite(invite, { now: NOW }), invite);
  });

  it('keeps a typical token near 190 characters (the signature and issuer key alone are 130)', async () => {
    const { token } = await createInvite(serverSigner, FIELDS);
    equal(fromBase64url(token).length, 2 + 16 + 33 + 16 + 4 + 2 + 1 + 'member'.length + 64);
    equal(token.length, 192);
  });

  it('carries the bundle secret outside the token the server sees', async () => {
    const id = new Uint8Array(16).fill(7);
    const make = (secret: Uint8Array) => {
      const queue = [id, secret];
      return createInvite(serverSigner, { ...FIELDS, withBundleSecret: true }, () => queue.shift()!);
    };
    const a = await make(new Uint8Array(32).fill(1));
    const b = await make(new Uint8Array(32).fill(2));
    equal(a.token, b.token, 'the token does not depend on the secret');
    ok(!a.token.includes(toBase64url(a.secret!)), 'the secret is not in the token');
    equal(a.fragment, `${a.token}.${toBase64url(a.secret!)}`);
    const link = parseInviteLink(`#${a.fragment}`);
    equal(link.token, a.token);
    deepEqual(link.secret, a.secret);
    equal(link.invite.hasBundleSecret, true);
    // The server gets the token alone and accepts it.
    equal(verifyInvite(a.token, { now: NOW }).hasBundleSecret, true);
  });

  it(`reproduces the golden vectors exactly (${vectors.cases.length})`, async () => {
    for (const v of vectors.cases) {
      const queue = [fromHex(v.id), ...(v.secret === null ? [] : [fromHex(v.secret)])];
      const created = await createInvite(
        rawSigner(fromHex(v.issuerSecretKey)),
        {
          serverPublicKey: fromHex(v.serverPublicKey),
          role: v.role,
          expiresAt: v.expiresAt,
          maxUses: v.maxUses,
          ...(v.channelId === null ? {} : { channelId: v.channelId }),
          withBundleSecret: v.secret !== null,
        },
        () => queue.shift()!,
      );
      equal(created.token, v.token);
      equal(created.fragment, v.fragment);
      equal(toHex(serverIdOf(fromHex(v.serverPublicKey))), v.serverId);
      const { invite, secret } = parseInviteLink(v.fragment);
      equal(secret === undefined ? null : toHex(secret), v.secret);
      const verified = verifyInvite(invite, {
        now: v.expiresAt - 1,
        trustedIssuers: [fromHex(v.issuerPublicKey)],
        serverPublicKey: fromHex(v.serverPublicKey),
      });
      equal(toHex(verified.id), v.id);
      equal(verified.role, v.role);
      equal(verified.channelId ?? null, v.channelId);
    }
  });

  it('expires at expiresAt (EXPIRED)', async () => {
    const { token } = await createInvite(serverSigner, FIELDS);
    verifyInvite(token, { now: FIELDS.expiresAt - 1 });
    throwsCode(() => verifyInvite(token, { now: FIELDS.expiresAt }), 'EXPIRED');
    throwsCode(() => verifyInvite(token, { now: FIELDS.expiresAt + 86400 }), 'EXPIRED');
  });

  it('refuses untrusted issuers (UNKNOWN_KEY) and other servers (MISMATCH)', async () => {
    const { token } = await createInvite(rawSigner(alice.secretKey), FIELDS);
    throwsCode(() => verifyInvite(token, { now: NOW, trustedIssuers: [server.publicKey] }), 'UNKNOWN_KEY');
    throwsCode(() => verifyInvite(token, { now: NOW, trustedIssuers: [] }), 'UNKNOWN_KEY');
    verifyInvite(token, { now: NOW, trustedIssuers: [server.publicKey, alice.publicKey] });
    throwsCode(() => verifyInvite(token, { now: NOW, serverPublicKey: alice.publicKey }), 'MISMATCH');
    verifyInvite(token, { now: NOW, serverPublicKey: server.publicKey });
  });

  it('ignores fields edited on a parsed invite: the signed bytes win', async () => {
    const invite = parseInvite((await createInvite(serverSigner, FIELDS)).token);
    const edited = { ...invite, role: 'admin', maxUses: 0, expiresAt: 0xffffffff };
    const verified = verifyInvite(edited, { now: NOW });
    equal(verified.role, 'member');
    equal(verified.maxUses, 10);
    equal(verified.expiresAt, FIELDS.expiresAt);
  });

  it('rejects every one-byte change, truncation and extension', async () => {
    const { token } = await createInvite(serverSigner, { ...FIELDS, channelId: 'c', withBundleSecret: true });
    const bytes = fromBase64url(token);
    const allowed = new Set(['BAD_VERSION', 'BAD_FORMAT', 'BAD_SIGNATURE']);
    const tampered = [
      ...[0x01, 0x80].flatMap((mask) => [...flipEachByte(bytes, mask)].map(([, b]) => b)),
      ...truncations(bytes),
      extended(bytes),
    ];
    for (const b of tampered) {
      const code = await codeOf(() => verifyInvite(toBase64url(b), { now: NOW }));
      ok(allowed.has(code), `${toHex(b)}: got ${code}`);
    }
  });

  it('parses links strictly (BAD_FORMAT)', async () => {
    const plain = await createInvite(serverSigner, FIELDS);
    const bundled = await createInvite(serverSigner, { ...FIELDS, withBundleSecret: true });
    const secret = toBase64url(new Uint8Array(32));
    for (const bad of [
      bundled.token, // the link lost its secret
      `${plain.token}.${secret}`, // a secret the token does not announce
      `${bundled.token}.${toBase64url(new Uint8Array(31))}`,
      `${bundled.fragment}.x`,
      `${bundled.token}.`,
      `${bundled.token}.${secret}=`,
      '',
      '#',
    ])
      throwsCode(() => parseInviteLink(bad), 'BAD_FORMAT', bad);
    for (const bad of NOT_STRINGS) throwsCode(() => parseInviteLink(bad as string), 'BAD_INPUT');
  });

  it('parses tokens strictly (BAD_FORMAT, BAD_VERSION)', async () => {
    const bytes = fromBase64url((await createInvite(serverSigner, FIELDS)).token);
    const edit = (i: number, value: number) => {
      const copy = bytes.slice();
      copy[i] = value;
      return toBase64url(copy);
    };
    throwsCode(() => parseInvite(edit(0, 2)), 'BAD_VERSION');
    throwsCode(() => parseInvite(edit(1, 0x04)), 'BAD_FORMAT', 'unknown flag');
    throwsCode(() => parseInvite(edit(1, 0x01)), 'BAD_FORMAT', 'channel flag without a channel');
    throwsCode(() => parseInvite(edit(2 + 16, 0x05)), 'BAD_FORMAT', 'issuer not a point');
    throwsCode(() => parseInvite(edit(73, 0)), 'BAD_FORMAT', 'empty role');
    throwsCode(() => parseInvite(edit(74, 'M'.charCodeAt(0))), 'BAD_FORMAT', 'uppercase role');
    throwsCode(() => parseInvite(`${toBase64url(bytes)}=`), 'BAD_FORMAT', 'padding');
    throwsCode(() => parseInvite('not base64!'), 'BAD_FORMAT');
    throwsCode(() => parseInvite(''), 'BAD_FORMAT');
    throwsCode(() => parseInvite('A'.repeat(513)), 'BAD_INPUT', 'too long to be a token');
    for (const bad of NOT_STRINGS) throwsCode(() => parseInvite(bad as string), 'BAD_INPUT');
  });

  it('rejects bad create inputs with BAD_INPUT', async () => {
    for (const bad of [undefined, null, {}, { publicKey: new Uint8Array(33) }])
      await rejectsCode(() => createInvite(bad as Signer, FIELDS), 'BAD_INPUT');
    const badFields: Partial<Record<keyof InviteFields, unknown[]>> = {
      serverPublicKey: [...NOT_BYTES, new Uint8Array(33), server.secretKey],
      role: [...NOT_STRINGS, '', 'Admin', 'a b', 'é', 'x'.repeat(33)],
      expiresAt: [0, -1, 1.5, 2 ** 32, '1', undefined, Number.NaN],
      maxUses: [-1, 65536, 0.5, '1', undefined],
      channelId: [null, 5, '', 'a.b', 'x'.repeat(65), 'é'],
    };
    for (const [field, values] of Object.entries(badFields))
      for (const value of values ?? [])
        await rejectsCode(
          () => createInvite(serverSigner, { ...FIELDS, [field]: value }),
          'BAD_INPUT',
          `${field} = ${String(value)}`,
        );
    await rejectsCode(
      () => createInvite(serverSigner, FIELDS, () => new Uint8Array(15)),
      'BAD_INPUT',
      'short id',
    );
    await rejectsCode(() => createInvite(undefined as unknown as Signer, FIELDS), 'BAD_INPUT');
    const ok1 = await createInvite(serverSigner, {
      ...FIELDS,
      role: 'x'.repeat(32),
      channelId: 'y'.repeat(64),
    });
    equal(parseInvite(ok1.token).channelId, 'y'.repeat(64));
  });

  it('rejects bad verify inputs with BAD_INPUT', async () => {
    const { token } = await createInvite(serverSigner, FIELDS);
    for (const bad of [undefined, null, {}, -1, 1.5, '1'])
      throwsCode(() => verifyInvite(token, { now: bad as number }), 'BAD_INPUT', `now ${String(bad)}`);
    throwsCode(() => verifyInvite(token, undefined as never), 'BAD_INPUT');
    throwsCode(() => verifyInvite(token, { now: NOW, trustedIssuers: 'x' as never }), 'BAD_INPUT');
    throwsCode(() => verifyInvite(token, { now: NOW, trustedIssuers: [new Uint8Array(33)] }), 'BAD_INPUT');
    throwsCode(() => verifyInvite(token, { now: NOW, serverPublicKey: new Uint8Array(33) }), 'BAD_INPUT');
    for (const bad of [undefined, null, {}, { signed: new Uint8Array(3) }])
      throwsCode(() => verifyInvite(bad as never, { now: NOW }), 'BAD_INPUT');
    for (const bad of NOT_BYTES) throwsCode(() => serverIdOf(bad as Uint8Array), 'BAD_INPUT');
  });
});
