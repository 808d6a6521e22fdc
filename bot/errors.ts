/**
 * The bot library's one error type: a stable code, a message, an optional cause.
 * Refusals by the signal server or the relay are not wrapped: they stay the
 * protocol's own `ProtocolError` (AUTH_FAILED, NOT_ALLOWED, …), so a caller branches
 * on `code` either way.
 */

export type BotErrorCode =
  | 'BAD_ARGUMENT' // a PCM frame, packet, bitrate or option out of range
  | 'NOT_FOUND' // no voice or text channel of that name or id
  | 'NOT_JOINED' // sending after leave()
  | 'BAD_AUDIO' // a file that is not audio this bot reads (PCM 16-bit WAV)
  | 'BAD_KEY_FILE' // an identity file that does not parse or open
  | 'BAD_STATE_FILE' // a state file (bot/state-file.ts) that does not parse
  | 'KEY_CONFLICT' // the identity has a key for this channel and epoch that this bot lost
  | 'CODEC'; // the Opus encoder or decoder refused its input

export class BotError extends Error {
  override readonly name = 'BotError';
  constructor(
    readonly code: BotErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
