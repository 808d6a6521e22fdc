/**
 * Wire error codes shared by the signal server, the relay and clients, and the
 * WebSocket close codes (4000–4999, RFC 6455 §7.4.2 "private use") that a fatal
 * error maps to. Codes are stable strings: clients branch on them, never on text.
 */

export const ERROR_CODES = [
  'BAD_MESSAGE', // malformed frame: not JSON, unknown type, wrong field types
  'TOO_LARGE', // frame or payload over the size limit
  'AUTH_FAILED', // any authentication failure (one opaque code on purpose)
  'POW_REQUIRED', // proof of work missing or insufficient
  'NOT_ALLOWED', // authenticated, but the role lacks the permission
  'NOT_FOUND', // no such channel, invite, member, …
  'CONFLICT', // the request contradicts current state
  'RATE_LIMITED', // token bucket empty
  'TOO_MANY_CONNECTIONS', // per-IP or per-identity connection cap
  'STORE_FULL', // storage refused the write (quota or disk)
  'SLOW_CONSUMER', // the client did not read fast enough
  'UNSUPPORTED_VERSION', // protocol version not spoken by this server
  'KICKED', // removed by a moderator
  'BANNED', // banned by a moderator
  'SHUTTING_DOWN', // the server is stopping; reconnect later
  'TIMEOUT', // heartbeat or handshake timeout
  'INTERNAL', // the server's fault; never carries details
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** Close codes for errors that end the connection. Reconnecting clients treat 4000–4099 as "retry", 4400+ as "do not". */
export const CLOSE_CODES = {
  SHUTTING_DOWN: 4001,
  TIMEOUT: 4002,
  SLOW_CONSUMER: 4003,
  INTERNAL: 4011,
  BAD_MESSAGE: 4400,
  AUTH_FAILED: 4401,
  POW_REQUIRED: 4402,
  NOT_ALLOWED: 4403,
  TOO_LARGE: 4413,
  UNSUPPORTED_VERSION: 4426,
  RATE_LIMITED: 4429,
  TOO_MANY_CONNECTIONS: 4430,
  KICKED: 4440,
  BANNED: 4441,
} as const satisfies Partial<Record<ErrorCode, number>>;

/** Errors after which the server closes the connection; the rest answer a request and go on. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'AUTH_FAILED',
  'POW_REQUIRED',
  'UNSUPPORTED_VERSION',
  'TOO_MANY_CONNECTIONS',
  'SLOW_CONSUMER',
  'TIMEOUT',
  'KICKED',
  'BANNED',
  'SHUTTING_DOWN',
]);

export function isFatal(code: ErrorCode): boolean {
  return FATAL.has(code);
}

const CODE_BY_CLOSE = new Map<number, ErrorCode>(
  Object.entries(CLOSE_CODES).map(([code, close]) => [close, code as ErrorCode]),
);

/** The error code a 4xxx close status stands for, if it is one of ours. */
export function errorCodeForClose(close: number): ErrorCode | undefined {
  return CODE_BY_CLOSE.get(close);
}

/** True when a client should not reconnect by itself after this close code. */
export function isTerminalClose(code: number): boolean {
  return (
    code >= 4400 &&
    code < 4500 &&
    code !== CLOSE_CODES.RATE_LIMITED &&
    code !== CLOSE_CODES.TOO_MANY_CONNECTIONS
  );
}

/** The one error type of the protocol layer; `ref` echoes the request it answers. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly ref?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The close code if this error ends the connection, else undefined. */
  get closeCode(): number | undefined {
    return (CLOSE_CODES as Partial<Record<ErrorCode, number>>)[this.code];
  }

  static badMessage(message: string, ref?: number): ProtocolError {
    return new ProtocolError('BAD_MESSAGE', message, ref);
  }

  static tooLarge(size: number, limit: number, ref?: number): ProtocolError {
    return new ProtocolError('TOO_LARGE', `frame of ${size} bytes exceeds ${limit}`, ref);
  }

  static notAllowed(what: string, ref?: number): ProtocolError {
    return new ProtocolError('NOT_ALLOWED', `not allowed: ${what}`, ref);
  }

  static rateLimited(ref?: number): ProtocolError {
    return new ProtocolError('RATE_LIMITED', 'slow down', ref);
  }
}
