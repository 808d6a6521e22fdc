/** The client core's one error type: a stable code, a message, an optional cause. */

export type CoreErrorCode =
  | 'BAD_FORMAT' // bytes or a link that do not parse as the expected format
  | 'NOT_OWNER' // an edit or removal of someone else's message
  | 'NOT_FOUND' // no such message, conversation or member
  | 'TOO_LARGE' // a message or bundle over its limit
  | 'SERVER_MISMATCH' // the server is not the one the link or an earlier visit pinned
  | 'NOT_SUPPORTED'; // a feature this client does not have yet

export class CoreError extends Error {
  override readonly name = 'CoreError';
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
