import assert from 'node:assert/strict';
import type { StrategyMessage, TopicPublishContext, TopicSubscriptionContext } from '@trystero-p2p/core';
import { LOBBY_ROOM_ID, meshSignaling, type PubSub, toTrysteroRoom } from './mesh-signaling.ts';

type Frame = Record<string, unknown>;

/** Records what the adapter sends; `deliver` plays a frame the server forwarded. */
class FakeConnection implements PubSub {
  readonly sent: Frame[] = [];
  private readonly listeners = new Map<string, Set<(m: Frame) => void>>();

  subscribe(topics: string[], room = ''): void {
    this.sent.push({ type: 'subscribe', topics, room });
  }
  unsubscribe(topics: string[], room = ''): void {
    this.sent.push({ type: 'unsubscribe', topics, room });
  }
  publish(topic: string, data: unknown, room = ''): void {
    this.sent.push({ type: 'publish', topic, data, room });
  }
  on(type: string, listener: (m: Frame) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  deliver(frame: Frame): void {
    for (const l of this.listeners.get(String(frame.type)) ?? []) l(frame);
  }
  listenerCount(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

const subCtx = (room: string): TopicSubscriptionContext => ({
  kind: 'root',
  appId: 'tincan',
  roomId: toTrysteroRoom(room),
  rootTopic: 'root',
  selfTopic: 'self',
});
const pubCtx = (room: string, kind: 'announce' | 'signal'): TopicPublishContext => ({
  kind,
  appId: 'tincan',
  roomId: toTrysteroRoom(room),
  rootTopic: 'root',
  selfTopic: 'self',
});
/** Handlers run in a microtask; this lets them. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(now?: () => number) {
  const conn = new FakeConnection();
  const signaling = meshSignaling(conn, now);
  const received: Array<[string, StrategyMessage]> = [];
  const subscribe = async (room: string, topic: string) =>
    await signaling.adapter.subscribeTopic(
      conn,
      topic,
      (t, m) => {
        received.push([t, m]);
      },
      subCtx(room),
    );
  return { conn, signaling, received, subscribe };
}

describe('mesh signaling over the server’s pub/sub', () => {
  it('uses our connection as the relay and leaves reannounce-on-disconnect off', () => {
    const { conn, signaling } = setup();
    assert.equal(signaling.adapter.init({ appId: 'tincan' }), conn);
    assert.equal(signaling.adapter.reannounceOnDisconnect, false);
  });

  it('maps the lobby to a non-empty trystero room id and back', () => {
    assert.equal(toTrysteroRoom(''), LOBBY_ROOM_ID);
    assert.equal(toTrysteroRoom('abc123'), 'abc123');
    assert.equal(toTrysteroRoom('dm:a:b'), 'dm:a:b');
  });

  it('subscribes each topic in its tincan room, once, and unsubscribes with the last handler', async () => {
    const { conn, subscribe } = setup();
    const offA = await subscribe('chan1', 'topic-x');
    const offB = await subscribe('chan1', 'topic-x');
    await subscribe('', 'topic-x');
    assert.deepEqual(conn.sent, [
      { type: 'subscribe', topics: ['topic-x'], room: 'chan1' },
      { type: 'subscribe', topics: ['topic-x'], room: '' },
    ]);
    offA();
    assert.equal(conn.sent.length, 2, 'another handler still listens');
    offB();
    offB();
    assert.deepEqual(conn.sent.slice(2), [{ type: 'unsubscribe', topics: ['topic-x'], room: 'chan1' }]);
  });

  it('hands trystero only frames of its room and topic', async () => {
    const { conn, received, subscribe } = setup();
    await subscribe('chan1', 'root');
    await subscribe('', 'root');
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan1', data: '{"peerId":"p1"}' });
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan2', data: '{"peerId":"p2"}' });
    conn.deliver({ type: 'publish', topic: 'other', room: 'chan1', data: '{"peerId":"p3"}' });
    // The lobby's frames carry no room field.
    conn.deliver({ type: 'publish', topic: 'root', data: { peerId: 'p4' } });
    await settle();
    assert.deepEqual(received, [
      ['root', '{"peerId":"p1"}'],
      ['root', { peerId: 'p4' }],
    ]);
  });

  it('ignores malformed frames', async () => {
    const { conn, received, subscribe } = setup();
    await subscribe('chan1', 'root');
    for (const frame of [
      { type: 'publish', topic: 7, room: 'chan1', data: 'x' },
      { type: 'publish', topic: 'root', room: 3, data: 'x' },
      { type: 'publish', topic: 'root', room: 'chan1', data: ['x'] },
      { type: 'publish', topic: 'root', room: 'chan1', data: 5 },
      { type: 'publish', topic: 'root', room: 'chan1', data: null },
      { type: 'publish', topic: 'root', room: 'chan1' },
    ])
      conn.deliver(frame);
    await settle();
    assert.deepEqual(received, []);
  });

  it('publishes in the tincan room and re-sends the latest announcement on every welcome', async () => {
    const { conn, signaling, subscribe } = setup();
    const off = await subscribe('chan1', 'root');
    await signaling.adapter.publishTopic(conn, 'root', '{"peerId":"me","n":1}', pubCtx('chan1', 'announce'));
    await signaling.adapter.publishTopic(conn, 'root', '{"peerId":"me","n":2}', pubCtx('chan1', 'announce'));
    await signaling.adapter.publishTopic(conn, 'peer-topic', '{"offer":"…"}', pubCtx('chan1', 'signal'));
    conn.sent.length = 0;
    conn.deliver({ type: 'welcome' });
    assert.deepEqual(conn.sent, [
      { type: 'publish', topic: 'root', data: '{"peerId":"me","n":2}', room: 'chan1' },
    ]);
    off();
    conn.sent.length = 0;
    conn.deliver({ type: 'welcome' });
    assert.deepEqual(conn.sent, [], 'nothing is re-announced in a room left');
  });

  it('drops a blocked peer’s signaling in that room until the block expires', async () => {
    let now = 1000;
    const { conn, signaling, received, subscribe } = setup(() => now);
    await subscribe('chan1', 'root');
    await subscribe('chan2', 'root');
    signaling.block('chan1', 'evil', 5000);
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan1', data: '{"peerId":"evil"}' });
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan1', data: { peerId: 'evil' } });
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan2', data: '{"peerId":"evil"}' });
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan1', data: '{"peerId":"good"}' });
    now += 5001;
    conn.deliver({ type: 'publish', topic: 'root', room: 'chan1', data: '{"peerId":"evil","late":1}' });
    await settle();
    assert.deepEqual(
      received.map(([, m]) => m),
      ['{"peerId":"evil"}', '{"peerId":"good"}', '{"peerId":"evil","late":1}'],
    );
  });

  it('stops listening on close', () => {
    const { conn, signaling } = setup();
    assert.equal(conn.listenerCount(), 2);
    signaling.close();
    assert.equal(conn.listenerCount(), 0);
  });
});
