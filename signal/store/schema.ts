/**
 * The store's schema as forward migrations: `MIGRATIONS[i]` takes the database from
 * `PRAGMA user_version = i` to `i + 1`. Append new steps; never edit a released one.
 *
 * Portable on purpose (the store may move to PostgreSQL): plain SQL types, named
 * constraints, `ON CONFLICT … DO` upserts, no `WITHOUT ROWID`, `AUTOINCREMENT` or
 * `STRICT`. A port renames `BLOB` to `BYTEA` and makes `audit.id` an identity
 * column (here it is SQLite's rowid alias); nothing else changes.
 *
 * Times are unix seconds, except `log_entries.at` (unix milliseconds, a message's
 * receipt time as clients show it). User ids are base64url compressed P-256 keys.
 *
 * Blobs (sealed file chunks) belong to a log: `logs.bytes` counts them with the
 * log's entries (one quota), and dropping the log drops them (cascade).
 */

export const MIGRATIONS: readonly string[] = [
  // 1: members, bans, invites, ciphertext logs, audit, channel tree, settings
  `
  CREATE TABLE members (
    user_id    TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    added_by   TEXT,
    invite_id  TEXT,
    added_at   BIGINT NOT NULL
  );

  CREATE TABLE member_roles (
    user_id  TEXT NOT NULL REFERENCES members (user_id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
  );

  CREATE TABLE bans (
    user_id   TEXT NOT NULL PRIMARY KEY,
    banned_by TEXT NOT NULL,
    reason    TEXT,
    banned_at BIGINT NOT NULL
  );

  CREATE TABLE invites (
    id         TEXT NOT NULL PRIMARY KEY,
    role       TEXT NOT NULL,
    channel    TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_uses   INTEGER NOT NULL CHECK (max_uses > 0),
    uses       INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    revoked_at BIGINT,
    bundle     BLOB
  );

  CREATE TABLE invite_redemptions (
    invite_id   TEXT NOT NULL REFERENCES invites (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    redeemed_at BIGINT NOT NULL,
    PRIMARY KEY (invite_id, user_id)
  );

  CREATE TABLE logs (
    name     TEXT NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    bytes    BIGINT NOT NULL CHECK (bytes >= 0)
  );

  CREATE TABLE log_entries (
    log       TEXT NOT NULL REFERENCES logs (name) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('update', 'key', 'snapshot')),
    client_id TEXT,
    author    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    blob      BLOB NOT NULL,
    PRIMARY KEY (log, seq),
    CONSTRAINT log_entries_client_id UNIQUE (log, client_id)
  );

  CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
  );

  CREATE TABLE channel_state (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    state      BLOB NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: the blob store: files sealed on clients, in chunks, per log
  `
  CREATE TABLE blob_files (
    file       TEXT NOT NULL PRIMARY KEY,
    log        TEXT NOT NULL REFERENCES logs (name) ON DELETE CASCADE,
    uploader   TEXT NOT NULL,
    chunks     INTEGER NOT NULL CHECK (chunks > 0),
    bytes      BIGINT NOT NULL CHECK (bytes >= 0),
    created_at BIGINT NOT NULL
  );
  CREATE INDEX blob_files_log ON blob_files (log);

  CREATE TABLE blob_chunks (
    file  TEXT NOT NULL REFERENCES blob_files (file) ON DELETE CASCADE,
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    data  BLOB NOT NULL,
    PRIMARY KEY (file, idx)
  );
  `,
];

/** The version a fully migrated database reports in `PRAGMA user_version`. */
export const SCHEMA_VERSION = MIGRATIONS.length;
