/**
 * The signal server's persistent state in one SQLite file, `<dataDir>/tincan.db`:
 * members and their roles, bans, invites (with their sealed key bundles), the
 * ciphertext logs of channels and DMs, the audit trail, the channel tree's Yjs state
 * and a few settings.
 *
 * What users say never reaches this file in the clear: log entries, snapshots,
 * file chunks (blobs) and invite bundles are opaque ciphertext made on clients; the audit trail records who
 * did what to whom, never content.
 *
 * Synchronous on purpose (better-sqlite3): a statement takes microseconds, far less
 * than a hop through a thread pool, and a server of hundreds never waits on it. WAL
 * mode lets the CLI write while the server reads; `dataVersion()` tells the server
 * that another connection committed. Every statement is prepared once, in the
 * constructor; every multi-step change is one `BEGIN IMMEDIATE` transaction.
 *
 * Units: administrative times (members, bans, invites, audit) are unix seconds, as
 * in invite tokens; a log entry's `at` is unix milliseconds, as clients show it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { mapSqliteError, StoreError } from './errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';

export { StoreError, type StoreErrorCode } from './errors.ts';

export const DB_FILE = 'tincan.db';
const DEFAULT_MAX_LOG_BYTES = 256 * 1024 * 1024;
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const INVITE_ID = /^[A-Za-z0-9_-]{22}$/; // 16 bytes, base64url without padding

export interface StoreOptions {
  /** Ciphertext bytes one log may hold; an append past it fails with `STORE_FULL`. Default 256 MiB. */
  maxLogBytes?: number;
  /** Cap on the whole database file (`PRAGMA max_page_count`); past it writes fail with `STORE_FULL`. */
  maxStoreBytes?: number;
  /** How long a write waits for another process's lock before `STORE_FAILED`. Default 5 s. */
  busyTimeoutMs?: number;
  /** Open without write access (inspection); the schema must already be current. */
  readonly?: boolean;
  /** The clock, in unix milliseconds (as `Date.now`); tests inject one. */
  now?: () => number;
}

export interface Member {
  /** The user id: base64url compressed P-256 public key. */
  key: string;
  name: string;
  /** In the order they were given. */
  roles: string[];
  /** Who added the member (a user id, `cli`, `allowlist`, …), if recorded. */
  addedBy: string | undefined;
  /** The invite the member joined with, if any. */
  inviteId: string | undefined;
  addedAt: number;
}

export interface Ban {
  key: string;
  by: string;
  reason: string | undefined;
  at: number;
}

export interface NewInvite {
  /** 16 random bytes, base64url (22 characters). */
  id: string;
  role: string;
  /** Unix seconds. */
  expiresAt: number;
  maxUses: number;
  channel?: string;
  createdBy: string;
  /** A key bundle sealed with the link's secret: opaque ciphertext, base64url as on the wire. */
  bundle?: string;
}

export interface Invite {
  id: string;
  role: string;
  channel: string | undefined;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | undefined;
  hasBundle: boolean;
}

export type RedeemFailure = 'UNKNOWN' | 'REVOKED' | 'EXPIRED' | 'USED_UP' | 'BANNED';

export type RedeemResult =
  | {
      ok: true;
      role: string;
      channel: string | undefined;
      createdBy: string;
      /** This key redeemed this invite before and is still a member: no use was counted. */
      again: boolean;
      /** The member after joining, when a name was given. */
      member: Member | undefined;
    }
  | { ok: false; reason: RedeemFailure };

export type LogKind = 'update' | 'key';
export type EntryKind = LogKind | 'snapshot';

export interface NewLogEntry {
  /** A channel id or `dm:<a>:<b>`. */
  log: string;
  kind: LogKind;
  /** The client's idempotency key: a second append with it is stored once. */
  id: string;
  blob: Uint8Array;
  /** The author's user id. */
  author: string;
  /** Unix milliseconds: when the server received it. */
  at: number;
}

export interface LogEntry {
  seq: number;
  kind: EntryKind;
  /** The client's idempotency key; absent on snapshots. */
  id: string | undefined;
  blob: Uint8Array;
  author: string;
  at: number;
}

export interface NewBlobChunk {
  /** The log whose readers may fetch the file: a channel id or `dm:<a>:<b>`. */
  log: string;
  /** The file id (base64url of 16 random bytes), unique across logs. */
  file: string;
  index: number;
  /** The file's chunk count; fixed by its first chunk. */
  count: number;
  data: Uint8Array;
  /** The uploader's user id; only they add chunks to the file. */
  uploader: string;
  /** Bytes the whole file may reach (the server's upload limit). */
  maxFileBytes: number;
}

export type PutChunkFailure =
  | 'OTHER_UPLOADER'
  | 'OTHER_LOG'
  | 'OTHER_COUNT'
  | 'OTHER_BYTES'
  | 'FILE_TOO_LARGE';

export type PutChunkResult = { ok: true; duplicate: boolean } | { ok: false; reason: PutChunkFailure };

export interface BlobFile {
  file: string;
  log: string;
  uploader: string;
  /** The chunk count the file was declared with. */
  chunks: number;
  /** Chunks stored so far. */
  stored: number;
  /** Bytes stored so far. */
  bytes: number;
  createdAt: number;
}

export type AuditDetail = Record<string, string | number | boolean>;

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | undefined;
  detail: AuditDetail | undefined;
}

// ---- rows as the schema defines them ------------------------------------------

interface MemberRow {
  user_id: string;
  name: string;
  added_by: string | null;
  invite_id: string | null;
  added_at: number;
}
interface RoleRow {
  user_id: string;
  role: string;
}
interface BanRow {
  user_id: string;
  banned_by: string;
  reason: string | null;
  banned_at: number;
}
interface InviteRow {
  id: string;
  role: string;
  channel: string | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  max_uses: number;
  uses: number;
  revoked_at: number | null;
  has_bundle: number;
}
interface LogRow {
  last_seq: number;
  bytes: number;
}
interface EntryRow {
  seq: number;
  kind: EntryKind;
  client_id: string | null;
  author: string;
  at: number;
  blob: Uint8Array;
}
interface BlobFileRow {
  file: string;
  log: string;
  uploader: string;
  chunks: number;
  bytes: number;
  created_at: number;
  stored: number;
}
interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
}

// ---- input checks ----------------------------------------------------------------

function bad(message: string): never {
  throw new StoreError('BAD_INPUT', message);
}
function aText(value: unknown, label: string, max = 256): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    bad(`${label} must be a string of 1..${max} characters`);
}
function aInt(value: unknown, min: number, max: number, label: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    bad(`${label} must be an integer in ${min}..${max}`);
}
function aBytes(value: unknown, label: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) bad(`${label} must be a Uint8Array`);
}
function aRoles(roles: unknown): asserts roles is string[] {
  if (!Array.isArray(roles) || roles.length === 0 || roles.length > 16) bad('roles must be 1..16 role names');
  for (const role of roles) aText(role, 'role', 32);
  if (new Set(roles).size !== roles.length) bad('roles must not repeat');
}

/** A view on better-sqlite3's Buffer, so callers get a plain Uint8Array. */
function bytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Parses a stored audit detail, keeping only the flat primitive fields `audit` writes. */
function parseDetail(text: string | null): AuditDetail | undefined {
  if (text === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined; // written by us as JSON; unreadable means damaged, and the rest of the entry still stands
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const detail: AuditDetail = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') detail[k] = v;
  }
  return detail;
}

const MAX_LIMIT = 10_000;

export class Store {
  readonly path: string;
  readonly maxLogBytes: number;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private closed = false;
  private readonly q: ReturnType<Store['prepare']>;
  private readonly tx: ReturnType<Store['transactions']>;

  /** Opens (creating and migrating if needed) `<dataDir>/tincan.db`. */
  constructor(dataDir: string, options: StoreOptions = {}) {
    this.path = join(dataDir, DB_FILE);
    this.maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
    aInt(this.maxLogBytes, 0, Number.MAX_SAFE_INTEGER, 'maxLogBytes');
    this.now = options.now ?? Date.now;
    const busy = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    aInt(busy, 0, 600_000, 'busyTimeoutMs');
    const readonly = options.readonly ?? false;
    let db: Database.Database | undefined;
    try {
      db = new Database(this.path, { readonly, fileMustExist: readonly, timeout: busy });
      db.pragma(`busy_timeout = ${busy}`);
      if (!readonly) db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if (options.maxStoreBytes !== undefined) {
        aInt(options.maxStoreBytes, 1, Number.MAX_SAFE_INTEGER, 'maxStoreBytes');
        const pageSize = Number(db.pragma('page_size', { simple: true }));
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxStoreBytes / pageSize))}`);
      }
      migrate(db, readonly);
      this.db = db;
      this.q = this.prepare();
      this.tx = this.transactions();
    } catch (error) {
      db?.close();
      throw mapSqliteError(error);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      // members
      getMember: db.prepare<[string], MemberRow>('SELECT * FROM members WHERE user_id = ?'),
      listMembers: db.prepare<[], MemberRow>('SELECT * FROM members ORDER BY added_at, user_id'),
      rolesOf: db
        .prepare<[string], string>('SELECT role FROM member_roles WHERE user_id = ? ORDER BY position')
        .pluck(),
      allRoles: db.prepare<[], RoleRow>('SELECT user_id, role FROM member_roles ORDER BY user_id, position'),
      upsertMember: db.prepare<[string, string, string | null, string | null, number]>(
        `INSERT INTO members (user_id, name, added_by, invite_id, added_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name`,
      ),
      renameMember: db.prepare<[string, string]>('UPDATE members SET name = ? WHERE user_id = ?'),
      removeMember: db.prepare<[string]>('DELETE FROM members WHERE user_id = ?'),
      clearRoles: db.prepare<[string]>('DELETE FROM member_roles WHERE user_id = ?'),
      addRole: db.prepare<[string, string, number]>(
        'INSERT INTO member_roles (user_id, role, position) VALUES (?, ?, ?)',
      ),
      // bans
      ban: db.prepare<[string, string, string | null, number]>(
        `INSERT INTO bans (user_id, banned_by, reason, banned_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET banned_by = excluded.banned_by, reason = excluded.reason,
           banned_at = excluded.banned_at`,
      ),
      unban: db.prepare<[string]>('DELETE FROM bans WHERE user_id = ?'),
      isBanned: db.prepare<[string], number>('SELECT 1 FROM bans WHERE user_id = ?').pluck(),
      listBans: db.prepare<[], BanRow>('SELECT * FROM bans ORDER BY banned_at, user_id'),
      // invites
      createInvite: db.prepare<
        [string, string, string | null, string, number, number, number, Uint8Array | null]
      >(
        `INSERT INTO invites (id, role, channel, created_by, created_at, expires_at, max_uses, bundle)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getInvite: db.prepare<[string], InviteRow>(
        `SELECT id, role, channel, created_by, created_at, expires_at, max_uses, uses, revoked_at,
           CASE WHEN bundle IS NULL THEN 0 ELSE 1 END AS has_bundle
         FROM invites WHERE id = ?`,
      ),
      listInvites: db.prepare<[], InviteRow>(
        `SELECT id, role, channel, created_by, created_at, expires_at, max_uses, uses, revoked_at,
           CASE WHEN bundle IS NULL THEN 0 ELSE 1 END AS has_bundle
         FROM invites ORDER BY created_at, id`,
      ),
      inviteBundle: db
        .prepare<[string], Uint8Array | null>('SELECT bundle FROM invites WHERE id = ?')
        .pluck(),
      revokeInvite: db.prepare<[number, string]>(
        'UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      ),
      redeemed: db
        .prepare<[string, string], number>(
          'SELECT 1 FROM invite_redemptions WHERE invite_id = ? AND user_id = ?',
        )
        .pluck(),
      addRedemption: db.prepare<[string, string, number]>(
        `INSERT INTO invite_redemptions (invite_id, user_id, redeemed_at) VALUES (?, ?, ?)
         ON CONFLICT (invite_id, user_id) DO UPDATE SET redeemed_at = excluded.redeemed_at`,
      ),
      countUse: db.prepare<[string]>('UPDATE invites SET uses = uses + 1 WHERE id = ?'),
      redemptions: db
        .prepare<[string], string>(
          'SELECT user_id FROM invite_redemptions WHERE invite_id = ? ORDER BY redeemed_at, user_id',
        )
        .pluck(),
      // logs
      logState: db.prepare<[string], LogRow>('SELECT last_seq, bytes FROM logs WHERE name = ?'),
      createLog: db.prepare<[string]>(
        'INSERT INTO logs (name, last_seq, bytes) VALUES (?, 0, 0) ON CONFLICT (name) DO NOTHING',
      ),
      setLogState: db.prepare<[number, number, string]>(
        'UPDATE logs SET last_seq = ?, bytes = ? WHERE name = ?',
      ),
      deleteLog: db.prepare<[string]>('DELETE FROM logs WHERE name = ?'),
      byClientId: db.prepare<[string, string], { seq: number; author: string }>(
        'SELECT seq, author FROM log_entries WHERE log = ? AND client_id = ?',
      ),
      insertEntry: db.prepare<[string, number, EntryKind, string | null, string, number, Uint8Array]>(
        'INSERT INTO log_entries (log, seq, kind, client_id, author, at, blob) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      after: db.prepare<[string, number, number], EntryRow>(
        `SELECT seq, kind, client_id, author, at, blob FROM log_entries
         WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      before: db.prepare<[string, number, number], EntryRow>(
        `SELECT seq, kind, client_id, author, at, blob FROM log_entries
         WHERE log = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      compactable: db.prepare<[string, number], { n: number; top: number | null; bytes: number }>(
        `SELECT COUNT(*) AS n, MAX(seq) AS top, COALESCE(SUM(LENGTH(blob)), 0) AS bytes FROM log_entries
         WHERE log = ? AND seq <= ? AND kind IN ('update', 'snapshot')`,
      ),
      deleteCompacted: db.prepare<[string, number]>(
        "DELETE FROM log_entries WHERE log = ? AND seq <= ? AND kind IN ('update', 'snapshot')",
      ),
      // blobs
      blobFile: db.prepare<[string], BlobFileRow>(
        `SELECT f.*, (SELECT COUNT(*) FROM blob_chunks c WHERE c.file = f.file) AS stored
         FROM blob_files f WHERE f.file = ?`,
      ),
      insertBlobFile: db.prepare<[string, string, string, number, number]>(
        'INSERT INTO blob_files (file, log, uploader, chunks, bytes, created_at) VALUES (?, ?, ?, ?, 0, ?)',
      ),
      addBlobFileBytes: db.prepare<[number, string]>(
        'UPDATE blob_files SET bytes = bytes + ? WHERE file = ?',
      ),
      blobChunk: db
        .prepare<[string, number], Uint8Array>('SELECT data FROM blob_chunks WHERE file = ? AND idx = ?')
        .pluck(),
      blobChunkOfLog: db
        .prepare<[string, string, number], Uint8Array>(
          `SELECT c.data FROM blob_chunks c JOIN blob_files f ON f.file = c.file
           WHERE c.file = ? AND f.log = ? AND c.idx = ?`,
        )
        .pluck(),
      insertBlobChunk: db.prepare<[string, number, Uint8Array]>(
        'INSERT INTO blob_chunks (file, idx, data) VALUES (?, ?, ?)',
      ),
      // audit
      audit: db.prepare<[number, string, string, string | null, string | null]>(
        'INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)',
      ),
      listAudit: db.prepare<[number], AuditRow>('SELECT * FROM audit ORDER BY id DESC LIMIT ?'),
      // channel tree, settings, housekeeping
      saveChannelState: db.prepare<[Uint8Array, number]>(
        `INSERT INTO channel_state (id, state, updated_at) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      ),
      loadChannelState: db.prepare<[], Uint8Array>('SELECT state FROM channel_state WHERE id = 1').pluck(),
      getSetting: db.prepare<[string], string>('SELECT value FROM settings WHERE name = ?').pluck(),
      setSetting: db.prepare<[string, string]>(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
      deleteSetting: db.prepare<[string]>('DELETE FROM settings WHERE name = ?'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      storeBytes: db
        .prepare<[], number>('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()')
        .pluck(),
      integrity: db.prepare<[], string>('PRAGMA integrity_check').pluck(),
    };
  }

  private transactions() {
    const { db, q } = this;
    const writeRoles = (key: string, roles: readonly string[]) => {
      q.clearRoles.run(key);
      for (const [i, role] of roles.entries()) q.addRole.run(key, role, i);
    };
    return {
      writeRoles: db.transaction(writeRoles),
      upsertMember: db.transaction(
        (
          key: string,
          name: string,
          roles: readonly string[],
          addedBy: string | null,
          inviteId: string | null,
        ) => {
          q.upsertMember.run(key, name, addedBy, inviteId, this.seconds());
          writeRoles(key, roles);
        },
      ),
      redeem: db.transaction(
        (id: string, key: string, now: number, name: string | undefined): RedeemResult => {
          const invite = q.getInvite.get(id);
          if (!invite) return { ok: false, reason: 'UNKNOWN' };
          if (q.isBanned.get(key)) return { ok: false, reason: 'BANNED' };
          if (invite.revoked_at !== null) return { ok: false, reason: 'REVOKED' };
          if (now >= invite.expires_at) return { ok: false, reason: 'EXPIRED' };
          // A retry by a key that joined with this invite and is still a member is not
          // another use; one that was removed since (kicked) needs a use like anyone.
          const again = q.redeemed.get(id, key) !== undefined && q.getMember.get(key) !== undefined;
          if (!again) {
            if (invite.uses >= invite.max_uses) return { ok: false, reason: 'USED_UP' };
            q.countUse.run(id);
            q.addRedemption.run(id, key, now);
          }
          let member: Member | undefined;
          if (name !== undefined) {
            const existing = q.getMember.get(key);
            if (existing) {
              const roles = q.rolesOf.all(key);
              if (!roles.includes(invite.role)) writeRoles(key, [...roles, invite.role]);
            } else {
              q.upsertMember.run(key, name, invite.created_by, id, now);
              writeRoles(key, [invite.role]);
            }
            member = this.memberOf(q.getMember.get(key)!);
          }
          return {
            ok: true,
            role: invite.role,
            channel: invite.channel ?? undefined,
            createdBy: invite.created_by,
            again,
            member,
          };
        },
      ),
      append: db.transaction((entry: NewLogEntry): { seq: number; duplicate: boolean } => {
        const existing = q.byClientId.get(entry.log, entry.id);
        if (existing) {
          if (existing.author !== entry.author)
            throw new StoreError('CONFLICT', 'another author already used this entry id');
          return { seq: existing.seq, duplicate: true };
        }
        q.createLog.run(entry.log);
        const state = q.logState.get(entry.log)!;
        const total = state.bytes + entry.blob.length;
        if (total > this.maxLogBytes)
          throw new StoreError('STORE_FULL', `the log would exceed its limit of ${this.maxLogBytes} bytes`);
        const seq = state.last_seq + 1;
        q.insertEntry.run(entry.log, seq, entry.kind, entry.id, entry.author, entry.at, entry.blob);
        q.setLogState.run(seq, total, entry.log);
        return { seq, duplicate: false };
      }),
      putChunk: db.transaction((c: NewBlobChunk): PutChunkResult => {
        const file = q.blobFile.get(c.file);
        if (file) {
          if (file.uploader !== c.uploader) return { ok: false, reason: 'OTHER_UPLOADER' };
          if (file.log !== c.log) return { ok: false, reason: 'OTHER_LOG' };
          if (file.chunks !== c.count) return { ok: false, reason: 'OTHER_COUNT' };
          const existing = q.blobChunk.get(c.file, c.index);
          if (existing)
            return Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).equals(existing)
              ? { ok: true, duplicate: true }
              : { ok: false, reason: 'OTHER_BYTES' };
        }
        if ((file?.bytes ?? 0) + c.data.length > c.maxFileBytes)
          return { ok: false, reason: 'FILE_TOO_LARGE' };
        q.createLog.run(c.log);
        const state = q.logState.get(c.log)!;
        const total = state.bytes + c.data.length;
        if (total > this.maxLogBytes)
          throw new StoreError('STORE_FULL', `the log would exceed its limit of ${this.maxLogBytes} bytes`);
        if (!file) q.insertBlobFile.run(c.file, c.log, c.uploader, c.count, this.seconds());
        q.insertBlobChunk.run(c.file, c.index, c.data);
        q.addBlobFileBytes.run(c.data.length, c.file);
        q.setLogState.run(state.last_seq, total, c.log);
        return { ok: true, duplicate: false };
      }),
      compact: db.transaction(
        (log: string, upTo: number, blob: Uint8Array, author: string, at: number): CompactResult => {
          const state = q.logState.get(log);
          if (!state) throw new StoreError('NOT_FOUND', 'no such log');
          if (upTo > state.last_seq) throw new StoreError('CONFLICT', `upTo ${upTo} is past the last entry`);
          const old = q.compactable.get(log, upTo)!;
          if (old.n === 0 || old.top === null) throw new StoreError('CONFLICT', 'nothing to compact');
          const total = state.bytes - old.bytes + blob.length;
          if (total > this.maxLogBytes)
            throw new StoreError(
              'STORE_FULL',
              `the snapshot would exceed the log's limit of ${this.maxLogBytes} bytes`,
            );
          q.deleteCompacted.run(log, upTo);
          q.insertEntry.run(log, old.top, 'snapshot', null, author, at, blob);
          q.setLogState.run(state.last_seq, total, log);
          return { seq: old.top, replaced: old.n };
        },
      ),
    };
  }

  /** The clock in unix seconds, the unit of every administrative time. */
  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Runs `fn`, turning SQLite's storage errors into `StoreError`s. */
  private guard<T>(fn: () => T): T {
    if (this.closed) throw new StoreError('STORE_FAILED', 'the store is closed');
    try {
      return fn();
    } catch (error) {
      throw mapSqliteError(error);
    }
  }

  private memberOf(row: MemberRow, roles = this.q.rolesOf.all(row.user_id)): Member {
    return {
      key: row.user_id,
      name: row.name,
      roles,
      addedBy: row.added_by ?? undefined,
      inviteId: row.invite_id ?? undefined,
      addedAt: row.added_at,
    };
  }

  // ---- members ------------------------------------------------------------------

  /** Adds a member, or renames an existing one and replaces its roles (keeping who added it and when). */
  upsertMember(input: { key: string; name: string; roles: readonly string[]; addedBy?: string }): Member {
    aText(input.key, 'key', 64);
    aText(input.name, 'name', 64);
    aRoles(input.roles);
    if (input.addedBy !== undefined) aText(input.addedBy, 'addedBy', 64);
    return this.guard(() => {
      this.tx.upsertMember.immediate(input.key, input.name, input.roles, input.addedBy ?? null, null);
      return this.memberOf(this.q.getMember.get(input.key)!);
    });
  }

  getMember(key: string): Member | undefined {
    return this.guard(() => {
      const row = this.q.getMember.get(key);
      return row && this.memberOf(row);
    });
  }

  /** Every member, oldest first. */
  listMembers(): Member[] {
    return this.guard(() => {
      const roles = new Map<string, string[]>();
      for (const { user_id, role } of this.q.allRoles.iterate()) {
        const list = roles.get(user_id);
        if (list) list.push(role);
        else roles.set(user_id, [role]);
      }
      return this.q.listMembers.all().map((row) => this.memberOf(row, roles.get(row.user_id) ?? []));
    });
  }

  /** Returns false when there is no such member. */
  renameMember(key: string, name: string): boolean {
    aText(name, 'name', 64);
    return this.guard(() => this.q.renameMember.run(name, key).changes > 0);
  }

  /** Replaces the member's roles; returns false when there is no such member. */
  setRoles(key: string, roles: readonly string[]): boolean {
    aRoles(roles);
    return this.guard(() => {
      if (!this.q.getMember.get(key)) return false;
      this.tx.writeRoles.immediate(key, roles);
      return true;
    });
  }

  /** Removes the member and its roles (a ban on the key stays). Returns false when there was none. */
  removeMember(key: string): boolean {
    return this.guard(() => this.q.removeMember.run(key).changes > 0);
  }

  // ---- bans -----------------------------------------------------------------------

  /** Bans the key (again: updates who and why). Does not remove the member; the caller decides. */
  ban(key: string, by: { by: string; reason?: string }): void {
    aText(key, 'key', 64);
    aText(by.by, 'by', 64);
    if (by.reason !== undefined && (typeof by.reason !== 'string' || by.reason.length > 512))
      bad('reason must be a string of at most 512 characters');
    this.guard(() => this.q.ban.run(key, by.by, by.reason || null, this.seconds()));
  }

  /** Returns false when the key was not banned. */
  unban(key: string): boolean {
    return this.guard(() => this.q.unban.run(key).changes > 0);
  }

  isBanned(key: string): boolean {
    return this.guard(() => this.q.isBanned.get(key) !== undefined);
  }

  listBans(): Ban[] {
    return this.guard(() =>
      this.q.listBans.all().map((r) => ({
        key: r.user_id,
        by: r.banned_by,
        reason: r.reason ?? undefined,
        at: r.banned_at,
      })),
    );
  }

  // ---- invites ----------------------------------------------------------------------

  /** Stores a new invite; `CONFLICT` if the id exists. */
  createInvite(input: NewInvite): Invite {
    if (typeof input.id !== 'string' || !INVITE_ID.test(input.id))
      bad('invite id must be 16 bytes of base64url');
    aText(input.role, 'role', 32);
    aInt(input.expiresAt, 0, Number.MAX_SAFE_INTEGER, 'expiresAt');
    aInt(input.maxUses, 1, 1_000_000, 'maxUses');
    if (input.channel !== undefined) aText(input.channel, 'channel', 128);
    aText(input.createdBy, 'createdBy', 64);
    let bundle: Uint8Array | null = null;
    if (input.bundle !== undefined) {
      if (typeof input.bundle !== 'string' || !/^[A-Za-z0-9_-]+$/.test(input.bundle))
        bad('bundle must be non-empty base64url');
      try {
        bundle = fromBase64url(input.bundle);
      } catch (cause) {
        throw new StoreError('BAD_INPUT', 'bundle must be non-empty base64url', { cause });
      }
    }
    return this.guard(() => {
      if (this.q.getInvite.get(input.id)) throw new StoreError('CONFLICT', 'an invite with this id exists');
      this.q.createInvite.run(
        input.id,
        input.role,
        input.channel ?? null,
        input.createdBy,
        this.seconds(),
        input.expiresAt,
        input.maxUses,
        bundle,
      );
      return this.inviteOf(this.q.getInvite.get(input.id)!);
    });
  }

  private inviteOf(r: InviteRow): Invite {
    return {
      id: r.id,
      role: r.role,
      channel: r.channel ?? undefined,
      createdBy: r.created_by,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      maxUses: r.max_uses,
      uses: r.uses,
      revokedAt: r.revoked_at ?? undefined,
      hasBundle: r.has_bundle === 1,
    };
  }

  getInvite(id: string): Invite | undefined {
    return this.guard(() => {
      const row = this.q.getInvite.get(id);
      return row && this.inviteOf(row);
    });
  }

  /** Every invite, including revoked, expired and used-up ones, oldest first. */
  listInvites(): Invite[] {
    return this.guard(() => this.q.listInvites.all().map((r) => this.inviteOf(r)));
  }

  /** The sealed key bundle left with an invite (base64url), if any. */
  getInviteBundle(id: string): string | undefined {
    return this.guard(() => {
      const blob = this.q.inviteBundle.get(id);
      return blob ? toBase64url(blob) : undefined;
    });
  }

  /** Returns false when there is no such invite or it was already revoked. */
  revokeInvite(id: string): boolean {
    return this.guard(() => this.q.revokeInvite.run(this.seconds(), id).changes > 0);
  }

  /** Keys that redeemed the invite, in order. */
  listRedemptions(id: string): string[] {
    return this.guard(() => this.q.redemptions.all(id));
  }

  /**
   * Redeems an invite for `key` in one transaction: refuses unknown, revoked,
   * expired (at `now`, unix seconds) and used-up invites and banned keys; otherwise
   * counts a use and records who redeemed it. A key that redeemed this invite before
   * and is still a member succeeds again without a use (a retried join), unless the
   * invite has since been revoked or expired. With `name`, the key also becomes a
   * member in the same transaction (or, if it is one, gains the invite's role):
   * prefer that to a separate `upsertMember`, which would replace existing roles.
   */
  redeemInvite(id: string, key: string, now: number, options: { name?: string } = {}): RedeemResult {
    aText(key, 'key', 64);
    aInt(now, 0, Number.MAX_SAFE_INTEGER, 'now');
    if (options.name !== undefined) aText(options.name, 'name', 64);
    return this.guard(() => this.tx.redeem.immediate(id, key, now, options.name));
  }

  // ---- ciphertext logs --------------------------------------------------------------

  /**
   * Appends one ciphertext entry. Idempotent on (log, id): a repeat returns the seq
   * stored the first time with `duplicate: true` (`CONFLICT` if another author used
   * the id). `STORE_FULL` when the log would pass `maxLogBytes`.
   */
  append(entry: NewLogEntry): { seq: number; duplicate: boolean } {
    aText(entry.log, 'log', 128);
    if (entry.kind !== 'update' && entry.kind !== 'key') bad("kind must be 'update' or 'key'");
    aText(entry.id, 'id', 64);
    aBytes(entry.blob, 'blob');
    aText(entry.author, 'author', 64);
    aInt(entry.at, 0, Number.MAX_SAFE_INTEGER, 'at');
    return this.guard(() => this.tx.append.immediate(entry));
  }

  private entryOf(r: EntryRow): LogEntry {
    return {
      seq: r.seq,
      kind: r.kind,
      id: r.client_id ?? undefined,
      blob: bytes(r.blob),
      author: r.author,
      at: r.at,
    };
  }

  /** Entries with seq > `after`, oldest first (catch-up). */
  fetchAfter(log: string, after: number, limit: number): LogEntry[] {
    aInt(after, 0, Number.MAX_SAFE_INTEGER, 'after');
    aInt(limit, 1, MAX_LIMIT, 'limit');
    return this.guard(() => this.q.after.all(log, after, limit).map((r) => this.entryOf(r)));
  }

  /** Entries with seq < `before`, newest first (scroll-back). */
  fetchBefore(log: string, before: number, limit: number): LogEntry[] {
    aInt(before, 0, Number.MAX_SAFE_INTEGER, 'before');
    aInt(limit, 1, MAX_LIMIT, 'limit');
    return this.guard(() => this.q.before.all(log, before, limit).map((r) => this.entryOf(r)));
  }

  /**
   * Replaces every `update` and earlier `snapshot` with seq ≤ `upTo` by one
   * `snapshot` entry, in one transaction. The snapshot takes the highest seq it
   * replaces, so later entries keep their seqs and a client catching up from any
   * point before it receives it. `key` entries (sender-key envelopes) are kept:
   * the snapshot is encrypted under keys they carry. Idempotency ids of the
   * replaced entries are forgotten (a late retry is stored again; Yjs updates are
   * idempotent). `NOT_FOUND` for an unknown log, `CONFLICT` when `upTo` is past the
   * end or nothing is replaced.
   */
  compact(log: string, upTo: number, snapshot: Uint8Array, author: string, at = this.now()): CompactResult {
    aInt(upTo, 1, Number.MAX_SAFE_INTEGER, 'upTo');
    aBytes(snapshot, 'snapshot');
    aText(author, 'author', 64);
    aInt(at, 0, Number.MAX_SAFE_INTEGER, 'at');
    return this.guard(() => this.tx.compact.immediate(log, upTo, snapshot, author, at));
  }

  /** Ciphertext bytes the log holds, its blobs included (0 for an unknown log). */
  logBytes(log: string): number {
    return this.guard(() => this.q.logState.get(log)?.bytes ?? 0);
  }

  /** The highest seq ever given in the log (0 for an unknown log). */
  lastSeq(log: string): number {
    return this.guard(() => this.q.logState.get(log)?.last_seq ?? 0);
  }

  // ---- blobs (sealed file chunks) ---------------------------------------------------

  /**
   * Stores one chunk of a file in one transaction. Immutable: the same bytes again
   * are `duplicate`; other bytes, another uploader, log or count are refused (the
   * result says which), as is a file past `maxFileBytes`. Counts into the log's
   * bytes: `STORE_FULL` past `maxLogBytes` (or when the database is full).
   */
  putChunk(chunk: NewBlobChunk): PutChunkResult {
    aText(chunk.log, 'log', 128);
    aText(chunk.file, 'file', 64);
    aInt(chunk.count, 1, 1 << 20, 'count');
    aInt(chunk.index, 0, chunk.count - 1, 'index');
    aBytes(chunk.data, 'data');
    aText(chunk.uploader, 'uploader', 64);
    aInt(chunk.maxFileBytes, 0, Number.MAX_SAFE_INTEGER, 'maxFileBytes');
    return this.guard(() => this.tx.putChunk.immediate(chunk));
  }

  /** A stored chunk of a file of `log`; undefined when the file is not of that log or the chunk is missing. */
  getChunk(log: string, file: string, index: number): Uint8Array | undefined {
    aInt(index, 0, Number.MAX_SAFE_INTEGER, 'index');
    return this.guard(() => {
      const data = this.q.blobChunkOfLog.get(file, log, index);
      return data === undefined ? undefined : bytes(data);
    });
  }

  /** What is stored of a file, if anything. */
  blobFile(file: string): BlobFile | undefined {
    return this.guard(() => {
      const r = this.q.blobFile.get(file);
      return (
        r && {
          file: r.file,
          log: r.log,
          uploader: r.uploader,
          chunks: r.chunks,
          stored: r.stored,
          bytes: r.bytes,
          createdAt: r.created_at,
        }
      );
    });
  }

  /** Drops a log and all its entries and blobs (a deleted channel). Returns false when there was none. */
  deleteLog(log: string): boolean {
    return this.guard(() => this.q.deleteLog.run(log).changes > 0);
  }

  // ---- audit ----------------------------------------------------------------------

  /** Records a moderation or admin action. Never pass message content in `detail`. */
  audit(entry: { actor: string; action: string; target?: string; detail?: AuditDetail; at?: number }): void {
    aText(entry.actor, 'actor', 64);
    aText(entry.action, 'action', 64);
    if (entry.target !== undefined) aText(entry.target, 'target', 128);
    let detail: string | null = null;
    if (entry.detail !== undefined) {
      for (const [k, v] of Object.entries(entry.detail)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
          bad(`detail.${k} must be a string, number or boolean`);
      }
      detail = JSON.stringify(entry.detail);
      if (detail.length > 4096) bad('detail must serialize to at most 4096 characters');
    }
    const at = entry.at ?? this.seconds();
    this.guard(() => this.q.audit.run(at, entry.actor, entry.action, entry.target ?? null, detail));
  }

  /** The newest `limit` audit entries, newest first. */
  listAudit(limit: number): AuditEntry[] {
    aInt(limit, 1, MAX_LIMIT, 'limit');
    return this.guard(() =>
      this.q.listAudit.all(limit).map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target ?? undefined,
        detail: parseDetail(r.detail),
      })),
    );
  }

  // ---- channel tree, settings ---------------------------------------------------------

  /** Stores the channel tree's Yjs state (`Y.encodeStateAsUpdate`), replacing the last one. */
  saveChannelState(update: Uint8Array): void {
    aBytes(update, 'update');
    this.guard(() => this.q.saveChannelState.run(update, this.seconds()));
  }

  loadChannelState(): Uint8Array | undefined {
    return this.guard(() => {
      const state = this.q.loadChannelState.get();
      return state === undefined ? undefined : bytes(state);
    });
  }

  getSetting(name: string): string | undefined {
    return this.guard(() => this.q.getSetting.get(name));
  }

  /** Sets a setting; `undefined` deletes it. */
  setSetting(name: string, value: string | undefined): void {
    aText(name, 'name', 128);
    if (value !== undefined && typeof value !== 'string') bad('value must be a string');
    this.guard(() =>
      value === undefined ? this.q.deleteSetting.run(name) : this.q.setSetting.run(name, value),
    );
  }

  // ---- housekeeping -------------------------------------------------------------------

  /**
   * `PRAGMA data_version`: changes when another connection (the CLI) commits, not
   * on this one's own writes. Poll it to notice outside edits cheaply.
   */
  dataVersion(): number {
    return this.guard(() => this.q.dataVersion.get()!);
  }

  /** Size of the main database file in bytes (page_count × page_size; the WAL is not counted). */
  storeBytes(): number {
    return this.guard(() => this.q.storeBytes.get()!);
  }

  /** `PRAGMA integrity_check`: `ok` true when SQLite reports exactly "ok". */
  checkIntegrity(): { ok: boolean; messages: string[] } {
    return this.guard(() => {
      const messages = this.q.integrity.all();
      return { ok: messages.length === 1 && messages[0] === 'ok', messages };
    });
  }

  /** Closes the database (idempotent); later calls fail with `STORE_FAILED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.db.readonly) this.db.pragma('optimize');
    } catch {
      // only statistics for the query planner; a full or failing disk must not stop the close
    }
    this.db.close();
  }
}

export interface CompactResult {
  /** The snapshot's seq: the highest seq it replaced. */
  seq: number;
  /** How many entries it replaced. */
  replaced: number;
}

/** Brings the schema to `SCHEMA_VERSION` under a write lock, so two processes never migrate at once. */
function migrate(db: Database.Database, readonly: boolean): void {
  const version = (): number => Number(db.pragma('user_version', { simple: true }));
  const current = version();
  if (current > SCHEMA_VERSION)
    throw new StoreError(
      'STORE_FAILED',
      `the database has schema ${current}, newer than this tincan (${SCHEMA_VERSION})`,
    );
  if (current === SCHEMA_VERSION) return;
  if (readonly)
    throw new StoreError('STORE_FAILED', `the database needs a migration to schema ${SCHEMA_VERSION}`);
  db.transaction(() => {
    for (let v = version(); v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
