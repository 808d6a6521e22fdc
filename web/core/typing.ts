/**
 * Typing indicators of one conversation: a signed `typing` note (signed-signal.ts)
 * published on the topic `typing` in the conversation's room (the channel id or
 * the DM name), at most once every `SEND_EVERY_MS`; each typist shows for
 * `SHOW_MS` after its last note.
 */
import type { Signer } from '../../crypto/sign.ts';
import { Value } from './observable.ts';
import { signNote, verifyNote } from './signed-signal.ts';

export const TYPING_TOPIC = 'typing';
export const SHOW_MS = 5_000;
const SEND_EVERY_MS = 3_000;

export class Typing {
  readonly typing = new Value<string[]>([]);
  private readonly until = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;

  constructor(
    private readonly room: string,
    private readonly me: string,
    private readonly signer: Signer,
    private readonly publish: (data: unknown) => void,
    private readonly mayType: (userId: string) => boolean,
  ) {}

  /** I am typing: tells the room, unless I told it moments ago. */
  start(now = Date.now()): void {
    if (now - this.lastSent < SEND_EVERY_MS) return;
    this.lastSent = now;
    signNote(this.signer, this.room, 'typing', {}, now).then(
      (note) => this.publish(note),
      () => undefined, // a signer that fails (locked key) just shows no indicator
    );
  }

  /** I sent a message: the next keystroke tells the room again at once. */
  sent(): void {
    this.lastSent = 0;
  }

  receive(data: unknown, now = Date.now()): void {
    const note = verifyNote(data, this.room, now);
    if (note?.t !== 'typing' || note.from === this.me || !this.mayType(note.from)) return;
    this.until.set(note.from, now + SHOW_MS);
    this.refresh(now);
  }

  /** Someone's message arrived: they stopped typing. */
  stopped(userId: string): void {
    if (this.until.delete(userId)) this.refresh(Date.now());
  }

  close(): void {
    clearTimeout(this.timer);
    this.until.clear();
    this.typing.set([]);
  }

  private refresh(now: number): void {
    clearTimeout(this.timer);
    for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    this.typing.set([...this.until.keys()].sort(), (a, b) => a.join() === b.join());
    if (this.until.size > 0) {
      const next = Math.min(...this.until.values()) - now;
      this.timer = setTimeout(() => this.refresh(Date.now()), Math.max(next, 10));
      this.timer.unref?.();
    }
  }
}
