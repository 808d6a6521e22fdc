/**
 * The relay's forwarding table, with no sockets in it: voice channels → members,
 * per-sender sequence numbers, and per-receiver bounded queues.
 *
 * A frame from a sender is framed once (FORWARD: slot ‖ seq ‖ frame) and the same
 * bytes go to every other member who is listening. A receiver whose transport has
 * more than `maxBufferedBytes` waiting gets the frame queued (at most `queueFrames`;
 * the oldest fall out, counted `dropped`); queued frames older than `lateMs` when
 * their turn comes are dropped (`late`), never sent stale. A receiver still backed
 * up after `shedAfterMs` is shed (`onShed`): it never slows the others, whose frames
 * are written straight through. Time is injected.
 */
import { encodeRelay } from '../protocol/relay.ts';

/** A receiver's transport: a WebSocket or a data channel. */
export interface Sink {
  send(bytes: Uint8Array): void;
  /** Bytes accepted but not yet on the network. */
  buffered(): number;
}

export interface RouteOptions {
  readonly maxBufferedBytes: number;
  readonly queueFrames: number;
  readonly lateMs: number;
  readonly shedAfterMs: number;
}

export const DEFAULT_ROUTE_OPTIONS: RouteOptions = {
  maxBufferedBytes: 16 * 1024,
  queueFrames: 16,
  lateMs: 200,
  shedAfterMs: 2000,
};

/** Counters of one sender's stream: frames in, frame copies out, copies dropped (queue full, shed) and late. */
export interface StreamStats {
  received: number;
  forwarded: number;
  dropped: number;
  late: number;
}

interface Queued {
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly from: StreamStats;
}

export class Member {
  listening = true;
  /** The relay's sequence number of this sender's next frame. */
  seq = 0;
  readonly stats: StreamStats = { received: 0, forwarded: 0, dropped: 0, late: 0 };
  /** @internal */ queue: Queued[] = [];
  /** @internal */ backedUpSince: number | undefined;
  left = false;

  constructor(
    readonly channel: string,
    readonly slot: number,
    readonly user: Uint8Array,
    public sink: Sink,
  ) {}
}

export interface Totals extends StreamStats {
  shed: number;
}

export class Routes {
  private readonly channels = new Map<string, Member[]>();
  /** Members with queued frames, for `flush`. */
  private readonly backlogged = new Set<Member>();
  readonly totals: Totals = { received: 0, forwarded: 0, dropped: 0, late: 0, shed: 0 };
  readonly options: RouteOptions;

  constructor(
    options: Partial<RouteOptions> = {},
    private readonly onShed: (member: Member) => void = () => {},
  ) {
    this.options = { ...DEFAULT_ROUTE_OPTIONS, ...options };
  }

  /** Adds a member on the lowest free slot of its channel; returns it with the members already there. */
  join(channel: string, user: Uint8Array, sink: Sink): { member: Member; others: readonly Member[] } {
    let list = this.channels.get(channel);
    if (!list) this.channels.set(channel, (list = []));
    const used = new Set(list.map((m) => m.slot));
    let slot = 0;
    while (used.has(slot)) slot++;
    if (slot > 0xffff) throw new RangeError('channel is full');
    const member = new Member(channel, slot, user, sink);
    const others = list.slice();
    list.push(member);
    return { member, others };
  }

  /** Removes a member; returns the members still in its channel. */
  leave(member: Member): readonly Member[] {
    if (member.left) return [];
    member.left = true;
    member.queue = [];
    this.backlogged.delete(member);
    const list = this.channels.get(member.channel);
    if (!list) return [];
    const i = list.indexOf(member);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.channels.delete(member.channel);
    return list;
  }

  members(channel: string): readonly Member[] {
    return this.channels.get(channel) ?? [];
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** Fans one sealed frame from `sender` out to every other listening member. */
  forward(sender: Member, frame: Uint8Array, now: number): void {
    if (sender.left) return;
    const stats = sender.stats;
    stats.received++;
    this.totals.received++;
    const bytes = encodeRelay.forward(sender.slot, sender.seq, frame);
    sender.seq = (sender.seq + 1) >>> 0;
    const list = this.channels.get(sender.channel)!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (r === sender || !r.listening) continue;
      this.deliver(r, bytes, now, stats);
    }
  }

  private deliver(r: Member, bytes: Uint8Array, now: number, from: StreamStats): void {
    const { maxBufferedBytes, queueFrames } = this.options;
    if (r.queue.length === 0 && r.sink.buffered() <= maxBufferedBytes) {
      r.sink.send(bytes);
      from.forwarded++;
      this.totals.forwarded++;
      return;
    }
    r.backedUpSince ??= now;
    r.queue.push({ bytes, at: now, from });
    this.backlogged.add(r);
    if (r.queue.length > queueFrames) {
      const old = r.queue.shift()!;
      old.from.dropped++;
      this.totals.dropped++;
    }
  }

  /** Drains queues into sinks that have room, drops late frames, sheds receivers backed up too long. */
  flush(now: number): void {
    const { maxBufferedBytes, lateMs, shedAfterMs } = this.options;
    for (const r of this.backlogged) {
      while (r.queue.length > 0) {
        const head = r.queue[0]!;
        if (now - head.at > lateMs) {
          r.queue.shift();
          head.from.late++;
          this.totals.late++;
          continue;
        }
        if (r.sink.buffered() > maxBufferedBytes) break;
        r.queue.shift();
        r.sink.send(head.bytes);
        head.from.forwarded++;
        this.totals.forwarded++;
      }
      if (r.queue.length === 0 && r.sink.buffered() <= maxBufferedBytes) {
        r.backedUpSince = undefined;
        this.backlogged.delete(r);
      } else if (r.backedUpSince !== undefined && now - r.backedUpSince > shedAfterMs) {
        for (const q of r.queue) q.from.dropped++;
        this.totals.dropped += r.queue.length;
        this.totals.shed++;
        this.leave(r);
        this.onShed(r);
      }
    }
  }

  /** Every live stream's counters, for /metrics. */
  *streams(): Generator<{ channel: string; slot: number; stats: StreamStats }> {
    for (const [channel, list] of this.channels)
      for (const m of list) yield { channel, slot: m.slot, stats: m.stats };
  }
}
