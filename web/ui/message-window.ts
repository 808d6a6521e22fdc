/**
 * Which slice of a conversation is in the DOM. History may hold 10,000 messages;
 * the list renders a window of at most `MAX_WINDOW` of them, anchored by the id of
 * its first message (so prepending older history does not move it) or following
 * the newest messages. Also the author/time grouping of consecutive messages.
 */
import type { ChatMessage } from '../core/model.ts';

/** Messages rendered when following the newest. */
export const INITIAL_WINDOW = 80;
/** Messages added per step when scrolling past an edge of the window. */
export const STEP = 40;
/** Never more than this many messages in the DOM. */
export const MAX_WINDOW = 200;
/** Consecutive messages of one author closer than this share a header. */
export const GROUP_MS = 5 * 60_000;

export interface MessageWindow {
  /** Id of the first rendered message (ignored while following). */
  first: string | undefined;
  size: number;
  /** Stick to the newest message as new ones arrive. */
  follow: boolean;
}

export const FOLLOWING: MessageWindow = { first: undefined, size: INITIAL_WINDOW, follow: true };

export function windowRange(
  messages: readonly ChatMessage[],
  w: MessageWindow,
): { start: number; end: number } {
  const n = messages.length;
  if (w.follow || w.first === undefined) return { start: Math.max(0, n - w.size), end: n };
  let start = messages.findIndex((m) => m.id === w.first);
  if (start === -1) start = Math.max(0, n - w.size);
  return { start, end: Math.min(n, start + w.size) };
}

/** The window grown upward by `STEP` (trimmed at the bottom past `MAX_WINDOW`). */
export function extendUp(messages: readonly ChatMessage[], w: MessageWindow): MessageWindow {
  const { start } = windowRange(messages, w);
  const from = Math.max(0, start - STEP);
  const size = Math.min(MAX_WINDOW, w.size + (start - from));
  const end = from + size;
  return { first: messages[from]?.id, size, follow: w.follow && end >= messages.length };
}

/** The window grown downward by `STEP` (trimmed at the top past `MAX_WINDOW`); follows once it reaches the end. */
export function extendDown(messages: readonly ChatMessage[], w: MessageWindow): MessageWindow {
  const { start, end } = windowRange(messages, w);
  const to = Math.min(messages.length, end + STEP);
  const from = Math.max(start, to - MAX_WINDOW);
  return { first: messages[from]?.id, size: to - from, follow: to >= messages.length };
}

/** Whether `m` continues the group of `previous` (same author, close in time, not a reply). */
export function continues(previous: ChatMessage | undefined, m: ChatMessage): boolean {
  return (
    previous !== undefined &&
    previous.author === m.author &&
    !previous.deleted &&
    !m.deleted &&
    m.replyTo === undefined &&
    m.at - previous.at >= 0 &&
    m.at - previous.at < GROUP_MS
  );
}
