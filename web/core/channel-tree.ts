/**
 * A read-only mirror of the server's channel tree (signal/channels.ts): the
 * welcome's state and each `channels` push are Yjs updates of a document only the
 * server writes; this client applies them and reads the `channels` map. Changes go
 * through requests (server-view.ts), never through this document.
 */
import * as Y from 'yjs';
import { fromBase64url } from '../../crypto/bytes.ts';
import type { ChannelInfo } from './model.ts';
import { Value } from './observable.ts';

export class ChannelTree {
  readonly list = new Value<ChannelInfo[]>([]);
  private doc = new Y.Doc();

  /** The welcome's full state: starts over (a reconnect may follow deletions). */
  reset(state: string): void {
    this.doc.destroy();
    this.doc = new Y.Doc();
    this.apply(state);
  }

  /** A `channels` push. Malformed updates are ignored (the next welcome repairs). */
  apply(update: string): void {
    try {
      Y.applyUpdate(this.doc, fromBase64url(update));
    } catch {
      return;
    }
    this.list.set(this.read());
  }

  get(id: string): ChannelInfo | undefined {
    return this.list.value.find((c) => c.id === id);
  }

  private read(): ChannelInfo[] {
    const out: ChannelInfo[] = [];
    for (const [id, m] of this.doc.getMap<Y.Map<unknown>>('channels')) {
      if (!(m instanceof Y.Map)) continue;
      const str = (k: string, d: string) => (typeof m.get(k) === 'string' ? (m.get(k) as string) : d);
      const num = (k: string, d: number) => (typeof m.get(k) === 'number' ? (m.get(k) as number) : d);
      const kind = m.get('kind');
      if (kind !== 'text' && kind !== 'voice') continue;
      const parent = m.get('parent');
      out.push({
        id,
        name: str('name', id),
        kind,
        parent: typeof parent === 'string' ? parent : null,
        order: num('order', 0),
        topic: str('topic', ''),
        locked: m.get('locked') === true,
        userLimit: num('userLimit', 0),
        bitrate: num('bitrate', 64000),
        ephemeral: num('ephemeral', 0),
      });
    }
    return out.sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1));
  }
}
