/**
 * `<dataDir>/authorized_keys`: members listed by hand or by `tincan keys add`, in the
 * spirit of OpenSSH's file of the same name. One member per line:
 *
 *     <userId> [roles=admin,member] [display name…]
 *
 * `userId` is the base64url compressed P-256 public key (44 characters); roles
 * default to `member`; the name is the rest of the line. Lines starting with `#` and
 * blank lines are ignored (a `#` later in a line belongs to the name).
 *
 * `parseAllowlist` is pure and never throws on content: a bad line is reported with
 * its number and the others still count. `AllowlistFile` keeps the parsed entries
 * current: it watches the directory (editors replace files by rename, which a watch
 * on the file itself would miss), debounces, and reloads on demand (SIGHUP).
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CryptoError } from '../crypto/errors.ts';
import { publicKeyOf } from '../crypto/identity.ts';

export const ALLOWLIST_FILE = 'authorized_keys';

export interface AllowlistEntry {
  /** The user id (base64url compressed P-256 key). */
  key: string;
  /** At least one; `['member']` when the line names none. */
  roles: string[];
  /** The display name, when the line gives one. */
  name: string | undefined;
}

export interface AllowlistProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface ParsedAllowlist {
  entries: AllowlistEntry[];
  errors: AllowlistProblem[];
}

export type AllowlistErrorCode = 'BAD_ENTRY' | 'ALREADY_LISTED';

export class AllowlistError extends Error {
  override readonly name = 'AllowlistError';
  constructor(
    readonly code: AllowlistErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;
const NAME = /^[^\p{Cc}\p{Cf}]+$/u; // as protocol/messages.ts's display names, which also cap 64 UTF-16 units
const DEFAULT_ROLES = ['member'];

/** Null unless `key` is a valid user id. */
function badKey(key: string): string | null {
  try {
    publicKeyOf(key);
    return null;
  } catch (error) {
    if (error instanceof CryptoError) return 'not a user id (base64url of a 33-byte compressed P-256 key)';
    throw error;
  }
}

/** Parses one non-comment line into an entry or a reason it is not one. */
function parseLine(text: string, knownRoles: ReadonlySet<string> | undefined): AllowlistEntry | string {
  const [, key = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(text) ?? [];
  const keyProblem = badKey(key);
  if (keyProblem) return keyProblem;
  let roles = DEFAULT_ROLES;
  let name = rest;
  const rolesField = /^roles=(\S*)\s*(.*)$/.exec(rest);
  if (rolesField) {
    roles = rolesField[1]!.split(',');
    name = rolesField[2]!;
    const bad = roles.find((r) => !ROLE.test(r));
    if (bad !== undefined) return `bad role ${JSON.stringify(bad)} (lowercase letters, digits, _ and -)`;
    if (new Set(roles).size !== roles.length) return 'a role is listed twice';
    if (roles.length > 16) return 'more than 16 roles';
  }
  if (knownRoles) {
    const unknown = roles.find((r) => !knownRoles.has(r));
    if (unknown !== undefined) return `no such role ${JSON.stringify(unknown)}`;
  }
  if (name !== '' && (name.length > 64 || !NAME.test(name)))
    return 'the name must be 1..64 characters without control characters';
  return { key, roles: [...roles], name: name === '' ? undefined : name };
}

/**
 * Parses an authorized_keys text. Never throws on content: bad lines land in
 * `errors` with their numbers, and a key listed again is reported and the first
 * line wins. With `roles`, a line naming a role not in it is refused.
 */
export function parseAllowlist(text: string, options: { roles?: ReadonlySet<string> } = {}): ParsedAllowlist {
  const entries: AllowlistEntry[] = [];
  const errors: AllowlistProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const parsed = parseLine(text, options.roles);
    if (typeof parsed === 'string') {
      errors.push({ line, message: parsed });
      return;
    }
    const first = seen.get(parsed.key);
    if (first !== undefined) {
      errors.push({ line, message: `the key is already listed on line ${first}` });
      return;
    }
    seen.set(parsed.key, line);
    entries.push(parsed);
  });
  return { entries, errors };
}

/** The line for an entry (no newline); throws `BAD_ENTRY` if it would not parse back to the same entry. */
export function formatAllowlistLine(entry: {
  key: string;
  roles?: readonly string[];
  name?: string;
}): string {
  const roles = entry.roles ?? DEFAULT_ROLES;
  const line = `${entry.key} roles=${roles.join(',')}${entry.name === undefined ? '' : ` ${entry.name}`}`;
  const { entries, errors } = parseAllowlist(line);
  const back = entries[0];
  if (errors.length > 0 || line.includes('\n') || line.includes('\r'))
    throw new AllowlistError('BAD_ENTRY', errors[0]?.message ?? 'a line break in the entry');
  if (!back || back.name !== entry.name || back.roles.join() !== roles.join())
    throw new AllowlistError('BAD_ENTRY', 'the name must not start or end with spaces');
  return line;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** Replaces the file's content atomically (temp file + rename), keeping its mode (new files: 0600). */
async function writeAtomically(path: string, text: string): Promise<void> {
  let mode = 0o600;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temp, text, { mode, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined); // best effort: the temp file may not exist
    throw error;
  }
}

/** Adds a line for `entry` (`tincan keys add`); `ALREADY_LISTED` when the key has a line, `BAD_ENTRY` when invalid. */
export async function appendToAllowlist(
  path: string,
  entry: { key: string; roles?: readonly string[]; name?: string },
): Promise<void> {
  const line = formatAllowlistLine(entry);
  const text = await readText(path);
  const listed = text.split(/\r?\n/).some((l) => l.trim().split(/\s/, 1)[0] === entry.key);
  if (listed) throw new AllowlistError('ALREADY_LISTED', 'the key is already in the file');
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeAtomically(path, `${text}${separator}${line}\n`);
}

/** Removes every line for `key`, leaving comments and other lines as they are. Returns how many went. */
export async function removeFromAllowlist(path: string, key: string): Promise<number> {
  const text = await readText(path);
  const lines = text.split('\n');
  const kept = lines.filter((l) => {
    const trimmed = l.trim();
    return trimmed.startsWith('#') || trimmed.split(/\s/, 1)[0] !== key;
  });
  const removed = lines.length - kept.length;
  if (removed > 0) await writeAtomically(path, kept.join('\n'));
  return removed;
}

export interface AllowlistFileOptions {
  /** Called with the entries after the first load and whenever they change. */
  onChange: (entries: readonly AllowlistEntry[]) => void;
  /** Problems: bad lines (`authorized_keys:3: …`), unreadable file, watch failures. */
  onError?: (message: string) => void;
  /** Role names that exist; lines naming others are refused. */
  roles?: ReadonlySet<string>;
  /** Quiet time after the last change event before reloading. Default 100 ms. */
  debounceMs?: number;
}

/**
 * The live allowlist of one data directory. `start()` loads and watches; `reload()`
 * reads again now (SIGHUP); `stop()` stops watching. A file that cannot be read
 * keeps the last good entries; a missing file means no entries.
 */
export class AllowlistFile {
  readonly path: string;
  private current: readonly AllowlistEntry[] = [];
  private signature: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly dataDir: string,
    private readonly options: AllowlistFileOptions,
  ) {
    this.path = join(dataDir, ALLOWLIST_FILE);
  }

  /** The entries of the last successful load. */
  get entries(): readonly AllowlistEntry[] {
    return this.current;
  }

  /** Loads the file (calling `onChange`) and starts watching the directory. */
  async start(): Promise<readonly AllowlistEntry[]> {
    this.stopped = false;
    const entries = await this.reload();
    if (this.stopped || this.watcher) return entries;
    try {
      this.watcher = watch(this.dataDir, { persistent: false }, (_event, filename) => {
        if (filename === null || String(filename) === ALLOWLIST_FILE) this.schedule();
      });
      this.watcher.on('error', (error) => {
        this.report(`watching ${this.dataDir} failed (${error.message}); edits now take effect on SIGHUP`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.report(`cannot watch ${this.dataDir} (${(error as Error).message}); edits take effect on SIGHUP`);
    }
    return entries;
  }

  /** Stops watching; pending debounced reloads are dropped. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * Reads and parses the file now, reporting every bad line; calls `onChange` when
   * the entries differ from the last load. Reloads run one at a time, in order.
   */
  reload(): Promise<readonly AllowlistEntry[]> {
    const next = this.queue.then(() => this.load());
    this.queue = next.catch(() => undefined); // the caller sees the failure; the queue goes on
    return next;
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload().catch((error: unknown) => this.report(`reload failed: ${String(error)}`));
    }, this.options.debounceMs ?? 100);
  }

  private async load(): Promise<readonly AllowlistEntry[]> {
    let text: string;
    try {
      text = await readText(this.path);
    } catch (error) {
      this.report(
        `cannot read ${this.path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); keeping the last entries`,
      );
      return this.current;
    }
    const { entries, errors } = parseAllowlist(text, { roles: this.options.roles });
    for (const e of errors) this.report(`${ALLOWLIST_FILE}:${e.line}: ${e.message}`);
    const signature = JSON.stringify(entries);
    if (signature !== this.signature) {
      this.signature = signature;
      this.current = entries;
      this.options.onChange(entries);
    }
    return entries;
  }

  private report(message: string): void {
    this.options.onError?.(message);
  }
}
