/**
 * The soak's books: every message sent (who, which channel, when) and every time a
 * member's document showed one. Pure: no sockets, clocks passed in.
 *
 * A message's text carries its sender, its number and the sender's send time
 * (`performance.now()` of this process, so sender and receiver share one clock):
 * `soak <sender> <n> <sentAt> <kind> …padding`. Kind `h` is a member's first message
 * (it carries the member's sender key out, so its latency is key distribution, not
 * delivery) and is left out of the latency figures; `m` is an ordinary message.
 *
 * Who must get what: a member must end up with every message of its channel sent
 * at or after its first time online (older ones it would only see by scrolling
 * back). A message counts as delivered *live* at a receiver that was online when it
 * was sent and stayed online until it arrived; its latency is recorded. Otherwise
 * it arrived by catch-up after a reconnect (counted apart, no latency).
 */
import { Histogram } from './stats.ts';

export interface SentMessage {
  sender: number;
  channel: number;
  sentAt: number;
  timed: boolean;
}

export interface Presence {
  /** When the member last came online; -1 when it never did. */
  onlineAt: number;
  /** When it last went offline; -1 when it never did. */
  offlineAt: number;
  /** When it first came online; -1 when it never did. */
  firstOnlineAt: number;
}

const PREFIX = 'soak ';

export class Ledger {
  readonly sent = new Map<string, SentMessage>();
  readonly latency = new Histogram();
  /** The same latencies split by the phase a message was sent in (`phaseOf`). */
  readonly latencyByPhase = new Map<string, Histogram>();
  /** Receipts by member: message ids seen. */
  private readonly seen: Set<string>[];
  deliveredLive = 0;
  deliveredLate = 0;
  duplicates = 0;
  /** Texts that were not ours (should not happen: counted as errors by the caller). */
  foreign = 0;

  constructor(
    /** Member index → its channel index. */
    private readonly channelOf: readonly number[],
    private readonly presence: (member: number) => Presence,
    private readonly padding = '',
    private readonly phaseOf: (sentAt: number) => string = () => 'all',
    /** Receivers whose receipts count but are not timed (a member made slow on purpose). */
    private readonly timedAt: (receiver: number) => boolean = () => true,
  ) {
    this.seen = channelOf.map(() => new Set<string>());
  }

  /** Records a message about to be sent and returns its text. */
  send(sender: number, n: number, sentAt: number, timed: boolean): string {
    const id = `${sender}:${n}`;
    this.sent.set(id, { sender, channel: this.channelOf[sender]!, sentAt, timed });
    return `${PREFIX}${sender} ${n} ${sentAt.toFixed(3)} ${timed ? 'm' : 'h'} ${this.padding}`;
  }

  /** A message text shown at `receiver` at time `now`. */
  received(receiver: number, text: string, now: number): void {
    const [sender, n] = text.startsWith(PREFIX) ? text.slice(PREFIX.length).split(' ', 2) : [];
    const id = `${sender}:${n}`;
    const m = this.sent.get(id);
    if (!m || m.channel !== this.channelOf[receiver]) {
      this.foreign++;
      return;
    }
    if (m.sender === receiver) return;
    const seen = this.seen[receiver]!;
    if (seen.has(id)) {
      this.duplicates++;
      return;
    }
    seen.add(id);
    const p = this.presence(receiver);
    const live = p.onlineAt !== -1 && p.onlineAt <= m.sentAt && p.offlineAt <= p.onlineAt;
    if (!live) {
      this.deliveredLate++;
      return;
    }
    this.deliveredLive++;
    if (!m.timed || !this.timedAt(receiver)) return;
    this.latency.add(now - m.sentAt);
    const phase = this.phaseOf(m.sentAt);
    let h = this.latencyByPhase.get(phase);
    if (!h) this.latencyByPhase.set(phase, (h = new Histogram()));
    h.add(now - m.sentAt);
  }

  /** (receiver, message) pairs owed and not yet shown; `examples` names a few. */
  missing(limit = 5): { count: number; expected: number; examples: string[] } {
    let count = 0;
    let expected = 0;
    const examples: string[] = [];
    for (const [id, m] of this.sent) {
      for (let r = 0; r < this.channelOf.length; r++) {
        if (r === m.sender || this.channelOf[r] !== m.channel) continue;
        const first = this.presence(r).firstOnlineAt;
        if (first === -1 || m.sentAt < first) continue;
        expected++;
        if (this.seen[r]!.has(id)) continue;
        count++;
        if (examples.length < limit) examples.push(`member ${r} lacks ${id} (channel ${m.channel})`);
      }
    }
    return { count, expected, examples };
  }
}
