/**
 * The store's one error type, and the mapping from SQLite's error codes to it. The
 * server answers `STORE_FULL` on the wire and keeps serving reads; `STORE_FAILED`
 * becomes `INTERNAL`. Errors that are neither (constraint violations) are bugs and
 * pass through unchanged.
 */

export type StoreErrorCode =
  | 'STORE_FULL' // a per-log quota, the database size cap, or the disk is full
  | 'STORE_FAILED' // I/O error, read-only or corrupt database, lock timeout, newer schema
  | 'NOT_FOUND' // the row an operation needs does not exist
  | 'CONFLICT' // the request contradicts what is stored
  | 'BAD_INPUT'; // an argument of the wrong type, length or range

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

const FAILED = /^SQLITE_(IOERR|READONLY|BUSY|LOCKED|CORRUPT|NOTADB|CANTOPEN|PROTOCOL|NOLFS|PERM)/;

/** Turns a better-sqlite3 `SqliteError` into a `StoreError` when it is about storage; otherwise returns it. */
export function mapSqliteError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  if (code.startsWith('SQLITE_FULL'))
    return new StoreError('STORE_FULL', 'the database is full', { cause: error });
  if (FAILED.test(code)) return new StoreError('STORE_FAILED', `storage failed (${code})`, { cause: error });
  return error;
}
