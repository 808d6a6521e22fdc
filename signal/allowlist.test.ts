import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBase64url } from '../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../crypto/identity.ts';
import {
  ALLOWLIST_FILE,
  type AllowlistEntry,
  AllowlistFile,
  appendToAllowlist,
  formatAllowlistLine,
  parseAllowlist,
  removeFromAllowlist,
} from './allowlist.ts';

const newKey = () => userIdOf(generateIdentity().publicKey);
const A = newKey();
const B = newKey();
const C = newKey();

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tincan-allowlist-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the next onChange call, or rejects after `ms`. */
function nextChange(changes: AllowlistEntry[][], ms = 3000): Promise<AllowlistEntry[]> {
  const seen = changes.length;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (changes.length > seen) {
        clearInterval(poll);
        resolve(changes.at(-1)!);
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`no change within ${ms} ms`));
      }
    }, 10);
  });
}

describe('parseAllowlist', () => {
  it('reads keys, roles and names, and skips comments and blank lines', () => {
    const text = [
      '# the founders',
      '',
      `${A} roles=admin,member Alice Liddell`,
      `   ${B}   `,
      `\t# indented comment`,
      `${C} Carol # not a comment`,
      `${newKey()} roles=guest`,
    ].join('\r\n');
    const { entries, errors } = parseAllowlist(`\uFEFF${text}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(entries.slice(0, 3), [
      { key: A, roles: ['admin', 'member'], name: 'Alice Liddell' },
      { key: B, roles: ['member'], name: undefined },
      { key: C, roles: ['member'], name: 'Carol # not a comment' },
    ]);
    assert.deepEqual(entries[3]?.roles, ['guest']);
  });

  it('reports each bad line with its number and still loads the rest', () => {
    const offCurve = toBase64url(new Uint8Array(33).fill(0xff)); // 33 bytes, but not a P-256 point
    const text = [
      `${A} Alice`, // 1 ok
      'not-a-key Bob', // 2
      `${offCurve} Mallory`, // 3
      `${B} roles=Admin Bob`, // 4 bad role
      `${B} roles= Bob`, // 5 empty role
      `${B} roles=a,a Bob`, // 6 repeated
      `${B} ${'x'.repeat(65)}`, // 7 long name
      `${B} tab\u0007bell`, // 8 control character
      `${A} again`, // 9 duplicate
      `${B} roles=member Bob`, // 10 ok
      `${A.slice(0, -1)}`, // 11 truncated key
    ].join('\n');
    const { entries, errors } = parseAllowlist(text);
    assert.deepEqual(
      entries.map((e) => e.name),
      ['Alice', 'Bob'],
    );
    assert.deepEqual(
      errors.map((e) => e.line),
      [2, 3, 4, 5, 6, 7, 8, 9, 11],
    );
    assert.match(errors[0]!.message, /not a user id/);
    assert.match(errors[2]!.message, /bad role "Admin"/);
    assert.match(errors[7]!.message, /already listed on line 1/);
  });

  it('refuses roles outside a known set when given one', () => {
    const { entries, errors } = parseAllowlist(`${A} roles=admin\n${B} roles=wizard`, {
      roles: new Set(['admin', 'member']),
    });
    assert.equal(entries.length, 1);
    assert.deepEqual(errors, [{ line: 2, message: 'no such role "wizard"' }]);
  });

  it('never throws on arbitrary content', () => {
    for (const text of ['', '\n\n', '#', 'x', ' '.repeat(1000), '\u0000\u0001', 'roles=admin', `${A}\u2028x`])
      assert.doesNotThrow(() => parseAllowlist(text), JSON.stringify(text));
  });
});

describe('formatAllowlistLine', () => {
  it('formats lines that parse back to the same entry', () => {
    const line = formatAllowlistLine({ key: A, roles: ['admin'], name: 'Alice' });
    assert.equal(line, `${A} roles=admin Alice`);
    assert.equal(formatAllowlistLine({ key: B }), `${B} roles=member`);
    assert.deepEqual(parseAllowlist(line).entries, [{ key: A, roles: ['admin'], name: 'Alice' }]);
  });

  it('refuses entries that would not survive the round trip', () => {
    for (const bad of [
      { key: 'nope' },
      { key: A, roles: [] },
      { key: A, roles: ['Bad'] },
      { key: A, name: 'two\nlines' },
      { key: A, name: ' padded ' },
      { key: A, name: '' },
    ])
      assert.throws(() => formatAllowlistLine(bad), { code: 'BAD_ENTRY' }, JSON.stringify(bad));
  });
});

describe('appendToAllowlist and removeFromAllowlist', () => {
  it('adds lines, refuses a listed key, and removes lines leaving the rest alone', async () => {
    const path = join(tempDir(), ALLOWLIST_FILE);
    await appendToAllowlist(path, { key: A, roles: ['admin'], name: 'Alice' });
    assert.equal(statSync(path).mode & 0o777, 0o600, 'a new file is private');
    writeFileSync(path, `# keep me\n${readFileSync(path, 'utf8')}${B} Bob`); // no final newline
    await appendToAllowlist(path, { key: C });
    await assert.rejects(appendToAllowlist(path, { key: A }), { code: 'ALREADY_LISTED' });
    await assert.rejects(appendToAllowlist(path, { key: 'bad' }), { code: 'BAD_ENTRY' });
    assert.equal(
      readFileSync(path, 'utf8'),
      `# keep me\n${A} roles=admin Alice\n${B} Bob\n${C} roles=member\n`,
    );

    assert.equal(await removeFromAllowlist(path, B), 1);
    assert.equal(await removeFromAllowlist(path, B), 0);
    assert.equal(readFileSync(path, 'utf8'), `# keep me\n${A} roles=admin Alice\n${C} roles=member\n`);
    assert.equal(
      await removeFromAllowlist(join(tempDir(), ALLOWLIST_FILE), A),
      0,
      'a missing file has nothing to remove',
    );
  });
});

describe('AllowlistFile', () => {
  it('treats a missing file as empty, and picks up the file once written', async () => {
    const dir = tempDir();
    const changes: AllowlistEntry[][] = [];
    const file = new AllowlistFile(dir, { onChange: (e) => changes.push([...e]), debounceMs: 20 });
    assert.deepEqual(await file.start(), []);
    assert.deepEqual(changes, [[]], 'the first load is reported');
    const next = nextChange(changes);
    writeFileSync(join(dir, ALLOWLIST_FILE), `${A} Alice\n`);
    assert.deepEqual(await next, [{ key: A, roles: ['member'], name: 'Alice' }]);
    file.stop();
  });

  it('reloads on edits in place and on atomic replacement, reporting bad lines', async () => {
    const dir = tempDir();
    const path = join(dir, ALLOWLIST_FILE);
    writeFileSync(path, `${A} roles=admin Alice\n`);
    const changes: AllowlistEntry[][] = [];
    const problems: string[] = [];
    const file = new AllowlistFile(dir, {
      onChange: (e) => changes.push([...e]),
      onError: (m) => problems.push(m),
      debounceMs: 20,
    });
    await file.start();
    assert.equal(file.entries.length, 1);

    let next = nextChange(changes);
    await appendFile(path, `garbage line\n${B} Bob\n`);
    assert.deepEqual(
      (await next).map((e) => e.name),
      ['Alice', 'Bob'],
    );
    assert.ok(
      problems.includes(`${ALLOWLIST_FILE}:2: not a user id (base64url of a 33-byte compressed P-256 key)`),
      String(problems),
    );

    next = nextChange(changes);
    writeFileSync(join(dir, 'new-keys'), `${C} Carol\n`);
    renameSync(join(dir, 'new-keys'), path); // how editors and the CLI save
    assert.deepEqual(
      (await next).map((e) => e.key),
      [C],
    );

    next = nextChange(changes);
    await removeFromAllowlist(path, C);
    assert.deepEqual(await next, []);
    file.stop();
  });

  it('reloads on demand, calling onChange only when the entries changed', async () => {
    const dir = tempDir();
    const path = join(dir, ALLOWLIST_FILE);
    const changes: AllowlistEntry[][] = [];
    const file = new AllowlistFile(dir, { onChange: (e) => changes.push([...e]) });
    await file.start();
    file.stop(); // no watching: only reload() sees edits now
    writeFileSync(path, `${A}\n`);
    assert.deepEqual(await file.reload(), [{ key: A, roles: ['member'], name: undefined }]);
    assert.equal(changes.length, 2);
    await file.reload();
    assert.equal(changes.length, 2, 'unchanged content is not reported again');
  });

  it('keeps the last good entries when the file cannot be read', async () => {
    const dir = tempDir();
    const path = join(dir, ALLOWLIST_FILE);
    writeFileSync(path, `${A}\n`);
    const problems: string[] = [];
    const file = new AllowlistFile(dir, { onChange: () => undefined, onError: (m) => problems.push(m) });
    await file.start();
    file.stop();
    rmSync(path);
    mkdirSync(path); // reading a directory fails with EISDIR
    assert.deepEqual(
      (await file.reload()).map((e) => e.key),
      [A],
    );
    assert.match(problems.join('\n'), /EISDIR/);
  });
});
