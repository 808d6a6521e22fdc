/** Small pure formatting helpers shared by the components. */
import type { MemberInfo } from '../core/model.ts';

/** Up to two letters for a server or member icon: "Blue Team" → "BT", "tincan" → "TI". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length === 1 ? [...words[0]!].slice(0, 2) : [[...words[0]!][0]!, [...words[1]!][0]!];
  return letters.join('').toUpperCase();
}

/** A short label for a user id nobody has named (a member who left). */
export function shortKey(key: string): string {
  return `user-${key.slice(0, 6)}`;
}

/** The display name of `key` among `members`, else among former members, else a short form of the key. */
export function nameOf(
  key: string,
  members: readonly MemberInfo[] | undefined,
  former?: Readonly<Record<string, string>>,
): string {
  return members?.find((m) => m.key === key)?.name ?? former?.[key] ?? shortKey(key);
}

/** Groups of five digits, one line per `perLine` groups: safety numbers and fingerprints. */
export function digitLines(digits: string, perLine = 4): string[] {
  const groups = digits.replace(/\s+/g, '').match(/.{1,5}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += perLine) lines.push(groups.slice(i, i + perLine).join(' '));
  return lines;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(at: number): string {
  return timeFormat.format(at);
}

export function formatDateTime(at: number): string {
  return dateFormat.format(at);
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** Whether a colour is a `#rrggbb` hex value (the only form settings accept). */
export function isHexColor(value: unknown): value is string {
  return typeof value === 'string' && /^#[0-9a-f]{6}$/i.test(value);
}

/** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
export function textOn(hex: string): '#000000' | '#ffffff' {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/** A readable message for an error from the core (ProtocolError codes first). */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case 'AUTH_FAILED':
      return 'This invite link has expired, has been used up, or was revoked. Ask for a new one.';
    case 'NOT_ALLOWED':
      return 'Your role does not allow that.';
    case 'RATE_LIMITED':
      return 'Too fast: wait a moment and try again.';
    case 'NOT_FOUND':
      return 'That no longer exists.';
    case 'TIMEOUT':
      return 'The server did not answer in time.';
    case 'BANNED':
      return 'You are banned from this server.';
    default: {
      const message = (error as { message?: unknown })?.message;
      return typeof message === 'string' && message ? message : 'Something went wrong.';
    }
  }
}
