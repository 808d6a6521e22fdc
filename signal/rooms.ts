/**
 * Pub/sub state of the signaling protocol: which subscribers listen on which topic
 * of which room. Pure: no sockets, the subscriber type is a parameter. Rooms
 * partition topics (a topic name means nothing across rooms), so a subscriber of
 * room A never sees room B's traffic even under the same topic name.
 */

export class Rooms<S> {
  /** `room\u0000topic` → subscribers. */
  private readonly topics = new Map<string, Set<S>>();
  /** subscriber → its keys, for cleanup and per-subscriber limits. */
  private readonly bySubscriber = new Map<S, Set<string>>();

  private static key(room: string, topic: string): string {
    return `${room}\u0000${topic}`;
  }

  /** Subscribes; returns false (subscribing nothing) if it would pass `limit` topics for this subscriber. */
  subscribe(subscriber: S, room: string, topics: readonly string[], limit: number): boolean {
    let mine = this.bySubscriber.get(subscriber);
    const fresh = topics.map((t) => Rooms.key(room, t)).filter((k) => !mine?.has(k));
    if ((mine?.size ?? 0) + new Set(fresh).size > limit) return false;
    if (!mine) this.bySubscriber.set(subscriber, (mine = new Set()));
    for (const key of fresh) {
      mine.add(key);
      let set = this.topics.get(key);
      if (!set) this.topics.set(key, (set = new Set()));
      set.add(subscriber);
    }
    return true;
  }

  unsubscribe(subscriber: S, room: string, topics: readonly string[]): void {
    const mine = this.bySubscriber.get(subscriber);
    if (!mine) return;
    for (const t of topics) this.remove(subscriber, mine, Rooms.key(room, t));
  }

  /** Removes every subscription of a subscriber (on disconnect). */
  leaveAll(subscriber: S): void {
    const mine = this.bySubscriber.get(subscriber);
    if (!mine) return;
    for (const key of [...mine]) this.remove(subscriber, mine, key);
  }

  /** Removes every subscription in a room for a subscriber (on kick from a channel). */
  leaveRoom(subscriber: S, room: string): void {
    const mine = this.bySubscriber.get(subscriber);
    if (!mine) return;
    const prefix = `${room}\u0000`;
    for (const key of [...mine]) if (key.startsWith(prefix)) this.remove(subscriber, mine, key);
  }

  private remove(subscriber: S, mine: Set<string>, key: string): void {
    if (!mine.delete(key)) return;
    const set = this.topics.get(key);
    set?.delete(subscriber);
    if (set?.size === 0) this.topics.delete(key);
    if (mine.size === 0) this.bySubscriber.delete(subscriber);
  }

  /** Subscribers of a topic (a live set: do not mutate while iterating elsewhere). */
  subscribers(room: string, topic: string): ReadonlySet<S> | undefined {
    return this.topics.get(Rooms.key(room, topic));
  }

  isSubscribed(subscriber: S, room: string, topic: string): boolean {
    return this.bySubscriber.get(subscriber)?.has(Rooms.key(room, topic)) ?? false;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  /** Distinct rooms with at least one subscription. */
  get roomCount(): number {
    const rooms = new Set<string>();
    for (const key of this.topics.keys()) rooms.add(key.slice(0, key.indexOf('\u0000')));
    return rooms.size;
  }
}
