import { scryptAsync } from '@noble/hashes/scrypt.js';
import { deepEqual, equal, ok, rejectsCode, throwsCode } from '../test/helpers/assert.ts';
import {
  codeOf,
  extended,
  flipEachByte,
  NOT_BYTES,
  NOT_STRINGS,
  truncations,
} from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/backup.json' with { type: 'json' };
import { seal } from './aead.ts';
import {
  BACKUP_LENGTH,
  backupFromText,
  backupToText,
  DEFAULT_SCRYPT,
  exportBackup,
  importBackup,
  parseBackup,
} from './backup.ts';
import { concat, randomBytes, toHex } from './bytes.ts';
import { generateIdentity, type IdentityKeyPair } from './identity.ts';
import { encodeStatement } from './statement.ts';

/** Cheap parameters: tests only. */
const FAST = { logN: 4, r: 1, p: 1 };
const PASS = 'correct horse battery staple';
const alice = generateIdentity();

describe('backup', () => {
  it('round-trips an identity', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    equal(backup.length, BACKUP_LENGTH);
    equal(BACKUP_LENGTH, 126);
    const restored = await importBackup(backup, PASS);
    deepEqual(restored, { secretKey: alice.secretKey, publicKey: alice.publicKey });
  });

  it('lays out the header as documented and reads it without the passphrase', async () => {
    const backup = await exportBackup(alice, PASS, { logN: 5, r: 2, p: 3 });
    deepEqual(Array.from(backup.subarray(0, 5)), [1, 1, 5, 2, 3], 'version, kdf, logN, r, p');
    deepEqual(backup.subarray(21, 54), alice.publicKey, 'public key after the 16-byte salt');
    const { publicKey, params } = parseBackup(backup);
    deepEqual(publicKey, alice.publicKey);
    deepEqual(params, { logN: 5, r: 2, p: 3 });
    deepEqual(DEFAULT_SCRYPT, { logN: 17, r: 8, p: 1 }, 'production cost');
  });

  it('uses a fresh salt and nonce every time', async () => {
    const a = await exportBackup(alice, PASS, FAST);
    const b = await exportBackup(alice, PASS, FAST);
    ok(toHex(a.subarray(5, 21)) !== toHex(b.subarray(5, 21)), 'salt');
    ok(toHex(a.subarray(54)) !== toHex(b.subarray(54)), 'sealed');
  });

  it('round-trips the text form, tolerating surrounding whitespace', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    const text = backupToText(backup);
    ok(text.startsWith('tincan-backup-v1:'), text);
    equal(text.length, 'tincan-backup-v1:'.length + 168);
    deepEqual(backupFromText(text), backup);
    deepEqual(backupFromText(`\n  ${text}\n`), backup);
  });

  it(`imports the golden vectors (${vectors.cases.length}, one with production cost)`, async () => {
    for (const v of vectors.cases) {
      const backup = backupFromText(v.text);
      equal(toHex(backup), v.backup);
      deepEqual(parseBackup(backup).params, v.params);
      const identity = await importBackup(backup, v.passphrase);
      equal(toHex(identity.secretKey), v.secretKey);
      equal(toHex(identity.publicKey), v.publicKey);
    }
  });

  it('normalises the passphrase (NFKC): composed and decomposed é open the same backup', async () => {
    const backup = await exportBackup(alice, 'caf\u00e9', FAST);
    deepEqual((await importBackup(backup, 'cafe\u0301')).publicKey, alice.publicKey);
  });

  it('refuses a wrong passphrase with DECRYPT_FAILED', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    for (const wrong of ['correct horse battery stapler', 'Correct horse battery staple', ' '])
      await rejectsCode(importBackup(backup, wrong), 'DECRYPT_FAILED', wrong);
  });

  it('rejects every one-byte change, truncation and extension', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    const allowed = new Set(['BAD_VERSION', 'BAD_FORMAT', 'DECRYPT_FAILED']);
    for (const mask of [0x01, 0x80]) {
      for (const [i, tampered] of flipEachByte(backup, mask)) {
        const code = await codeOf(() => importBackup(tampered, PASS));
        ok(allowed.has(code), `byte ${i} ^ ${mask}: got ${code}`);
      }
    }
    for (const tampered of [...truncations(backup), extended(backup)])
      await rejectsCode(importBackup(tampered, PASS), 'BAD_FORMAT', `length ${tampered.length}`);
  });

  it('refuses hostile cost parameters before running scrypt (BAD_FORMAT)', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    const withParams = (logN: number, r: number, p: number) => {
      const copy = backup.slice();
      copy.set([logN, r, p], 2);
      return copy;
    };
    // 2^30·r memory, r or p of 0 or 255, or too much work: all refused up front.
    for (const [logN, r, p] of [
      [0, 1, 1],
      [21, 1, 1],
      [30, 8, 1],
      [255, 255, 255],
      [10, 0, 1],
      [10, 33, 1],
      [10, 1, 0],
      [10, 1, 17],
      [20, 8, 1],
      [17, 8, 16],
    ] as const) {
      const start = Date.now();
      await rejectsCode(
        importBackup(withParams(logN, r, p), PASS),
        'BAD_FORMAT',
        `logN ${logN} r ${r} p ${p}`,
      );
      ok(Date.now() - start < 1000, 'refused without deriving');
    }
    await rejectsCode(importBackup(withParams(4, 1, 2), PASS), 'DECRYPT_FAILED', 'in bounds but altered');
  });

  it('refuses a well-sealed secret that does not match its public key (BAD_FORMAT)', async () => {
    const bob = generateIdentity();
    const salt = randomBytes(16);
    const header = concat(new Uint8Array([1, 1, FAST.logN, FAST.r, FAST.p]), salt);
    const key = await scryptAsync(PASS, salt, { N: 2 ** FAST.logN, r: FAST.r, p: FAST.p, dkLen: 32 });
    // Bob's public key, Alice's secret: an honest-looking file made by a broken or hostile tool.
    const sealed = seal(key, alice.secretKey, encodeStatement('tincan/backup/v1', [header, bob.publicKey]));
    await rejectsCode(importBackup(concat(header, bob.publicKey, sealed), PASS), 'BAD_FORMAT');
    // The same construction with the right key is exactly what exportBackup makes.
    const right = seal(key, alice.secretKey, encodeStatement('tincan/backup/v1', [header, alice.publicKey]));
    deepEqual((await importBackup(concat(header, alice.publicKey, right), PASS)).publicKey, alice.publicKey);
  });

  it('reads the version and kdf id', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    const v2 = backup.slice();
    v2[0] = 2;
    throwsCode(() => parseBackup(v2), 'BAD_VERSION');
    const kdf2 = backup.slice();
    kdf2[1] = 2;
    throwsCode(() => parseBackup(kdf2), 'BAD_FORMAT');
    throwsCode(() => parseBackup(new Uint8Array()), 'BAD_FORMAT');
  });

  it('rejects bad text with BAD_FORMAT', async () => {
    const text = backupToText(await exportBackup(alice, PASS, FAST));
    for (const bad of [
      '',
      'tincan-backup-v2:AQ',
      text.replace('tincan', 'tinkan'),
      `${text}=`,
      `${text}A`,
      `${text}!`,
    ])
      throwsCode(() => backupFromText(bad), 'BAD_FORMAT', bad.slice(0, 24));
    for (const bad of NOT_STRINGS) throwsCode(() => backupFromText(bad as string), 'BAD_INPUT');
  });

  it('rejects bad export inputs with BAD_INPUT', async () => {
    const bob = generateIdentity();
    for (const bad of [undefined, null, {}, { secretKey: new Uint8Array(31), publicKey: alice.publicKey }])
      await rejectsCode(() => exportBackup(bad as IdentityKeyPair, PASS, FAST), 'BAD_INPUT');
    const mixed = { secretKey: alice.secretKey, publicKey: bob.publicKey };
    await rejectsCode(() => exportBackup(mixed, PASS, FAST), 'BAD_INPUT', 'mismatched pair');
    const zero = { secretKey: new Uint8Array(32), publicKey: alice.publicKey };
    await rejectsCode(() => exportBackup(zero, PASS, FAST), 'BAD_INPUT', 'zero scalar');
    for (const bad of [...NOT_STRINGS, '', 'x'.repeat(1025)])
      await rejectsCode(() => exportBackup(alice, bad as string, FAST), 'BAD_INPUT');
    for (const bad of [
      { logN: 0, r: 1, p: 1 },
      { logN: 21, r: 1, p: 1 },
      { logN: 20, r: 8, p: 1 },
      { logN: 4, r: 1.5, p: 1 },
      { logN: 4, r: 1, p: 0 },
      { logN: '4', r: 1, p: 1 },
    ])
      await rejectsCode(
        () => exportBackup(alice, PASS, bad as typeof FAST),
        'BAD_INPUT',
        JSON.stringify(bad),
      );
  });

  it('rejects bad import inputs with BAD_INPUT', async () => {
    const backup = await exportBackup(alice, PASS, FAST);
    for (const bad of NOT_BYTES) await rejectsCode(() => importBackup(bad as Uint8Array, PASS), 'BAD_INPUT');
    for (const bad of [...NOT_STRINGS, ''])
      await rejectsCode(() => importBackup(backup, bad as string), 'BAD_INPUT');
    for (const bad of NOT_BYTES) throwsCode(() => backupToText(bad as Uint8Array), 'BAD_INPUT');
  });
});
