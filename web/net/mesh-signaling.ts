/**
 * trystero's signaling carried by the signal server's pub/sub on the connection we
 * already have (no second socket, no public relays): a `TopicStrategyAdapter` whose
 * relay is the `ServerConnection`. trystero's topic names are opaque strings inside
 * the tincan room (channel id, `dm:<a>:<b>`, or '' for the server lobby); the server
 * forwards each `publish` verbatim to the room's other subscribers of the topic.
 *
 * Presence: the server keeps none for trystero (it does not tell a newcomer who is
 * subscribed), so discovery is trystero's own: a newcomer announces on the room's
 * root topic and the members answer. Peers already connected ignore announcements,
 * so the steady re-announce is cheap; it bounds how long two members that lost their
 * link (both still in the room) stay apart. `reannounceOnDisconnect` stays off: in
 * trystero 0.25 it only fires for links that fail before they are shared, and the
 * steady announce covers the rest.
 *
 * Reconnects: `ServerConnection` re-subscribes by itself, but publishes made while it
 * was down are dropped, and announcements made before the first welcome too; so on
 * every welcome the latest announcement of each joined room is sent again, letting
 * peers that arrived meanwhile find us without waiting for the steady interval.
 */
import type { StrategyMessage, TopicStrategyAdapter } from '@trystero-p2p/core';
import type { ServerConnection } from './connection.ts';

/** trystero needs a non-empty room id; channel ids never contain `~`, DM rooms start with `dm:`. */
export const LOBBY_ROOM_ID = '~lobby';
/** How often a member re-announces itself in each room it is in. */
export const STEADY_ANNOUNCE_MS = 15_000;

export const toTrysteroRoom = (room: string): string => (room === '' ? LOBBY_ROOM_ID : room);
export const fromTrysteroRoom = (roomId: string): string => (roomId === LOBBY_ROOM_ID ? '' : roomId);

/** What the adapter uses of a ServerConnection (a fake in Node tests). */
export type PubSub = Pick<ServerConnection, 'subscribe' | 'unsubscribe' | 'publish' | 'on'>;

type OnMessage = (topic: string, msg: StrategyMessage) => void | Promise<void>;

export interface MeshSignaling {
  readonly adapter: TopicStrategyAdapter<PubSub>;
  /** Ignores signaling from trystero peer `peerId` in `room` for `ms` (a refused peer's retries). */
  block(room: string, peerId: string, ms: number): void;
  /** Stops listening to the connection. */
  close(): void;
}

const keyOf = (room: string, topic: string): string => `${room}\n${topic}`;

/** A forwarded frame's `data` as trystero takes it: its JSON string, or an object. */
function toMessage(data: unknown): StrategyMessage | undefined {
  if (typeof data === 'string') return data;
  if (typeof data === 'object' && data !== null && !Array.isArray(data))
    return data as Record<string, unknown>;
  return undefined;
}

function senderOf(msg: StrategyMessage): unknown {
  if (typeof msg !== 'string') return msg.peerId;
  try {
    const parsed: unknown = JSON.parse(msg);
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>).peerId
      : undefined;
  } catch {
    return undefined; // not trystero's; its own parser drops it too
  }
}

export function meshSignaling(connection: PubSub, now: () => number = Date.now): MeshSignaling {
  const handlers = new Map<string, Set<OnMessage>>();
  /** room\ntopic → the latest announcement published there. */
  const announces = new Map<string, { room: string; topic: string; msg: StrategyMessage }>();
  const blocked = new Map<string, number>();

  const isBlocked = (room: string, msg: StrategyMessage): boolean => {
    if (blocked.size === 0) return false;
    const peerId = senderOf(msg);
    if (typeof peerId !== 'string') return false;
    const key = keyOf(room, peerId);
    const until = blocked.get(key);
    if (until === undefined) return false;
    if (until > now()) return true;
    blocked.delete(key);
    return false;
  };

  const offPublish = connection.on('publish', (frame) => {
    const { topic, room = '', data } = frame;
    if (typeof topic !== 'string' || typeof room !== 'string') return;
    const set = handlers.get(keyOf(room, topic));
    const msg = toMessage(data);
    if (!set || msg === undefined || isBlocked(room, msg)) return;
    for (const onMessage of [...set]) {
      Promise.resolve()
        .then(() => onMessage(topic, msg))
        .catch((error: unknown) => console.warn('tincan mesh: a signaling handler failed', error));
    }
  });

  const offWelcome = connection.on('welcome', () => {
    for (const { room, topic, msg } of announces.values()) connection.publish(topic, msg, room);
  });

  const adapter: TopicStrategyAdapter<PubSub> = {
    reannounceOnDisconnect: false,
    steadyAnnounceIntervalMs: STEADY_ANNOUNCE_MS,
    init: () => connection,
    subscribeTopic: (relay, topic, onMessage, context) => {
      const room = fromTrysteroRoom(context.roomId);
      const key = keyOf(room, topic);
      let set = handlers.get(key);
      if (!set) {
        handlers.set(key, (set = new Set()));
        relay.subscribe([topic], room);
      }
      set.add(onMessage);
      return () => {
        set.delete(onMessage);
        if (set.size > 0 || handlers.get(key) !== set) return;
        handlers.delete(key);
        announces.delete(key);
        relay.unsubscribe([topic], room);
      };
    },
    publishTopic: (relay, topic, msg, context) => {
      const room = fromTrysteroRoom(context.roomId);
      if (context.kind === 'announce') announces.set(keyOf(room, topic), { room, topic, msg });
      relay.publish(topic, msg, room);
    },
    // No `unpublishTopic`: the server retains nothing published, so there is nothing to withdraw.
  };

  return {
    adapter,
    block: (room, peerId, ms) => {
      blocked.set(keyOf(room, peerId), now() + ms);
    },
    close: () => {
      offPublish();
      offWelcome();
    },
  };
}
