/**
 * The server-authoritative channel tree, held in a Yjs document that only the
 * server writes. Clients receive its updates and apply them read-only; they ask for
 * changes with requests the hub checks against roles. Pure: no sockets, no store.
 *
 * Document layout: a top-level Y.Map `channels`, id → Y.Map of the channel's fields.
 */
import * as Y from 'yjs';
import { randomBytes } from '../crypto/bytes.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { ChannelSettings } from '../protocol/messages.ts';

export type ChannelKind = 'text' | 'voice';

export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  parent: string | null;
  order: number;
  topic: string;
  bitrate: number;
  userLimit: number;
  locked: boolean;
  /** Idle seconds until an ephemeral channel is removed; 0 = permanent. */
  ephemeral: number;
  meshLimit: number;
}

const DEFAULTS = { topic: '', bitrate: 64000, userLimit: 0, locked: false, ephemeral: 0, meshLimit: 6 };
const MAX_CHANNELS = 500;
const MAX_DEPTH = 3;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function newId(): string {
  let id = '';
  for (const b of randomBytes(10)) id += ALPHABET[b & 31];
  return id;
}

export class ChannelTree {
  readonly doc = new Y.Doc();
  private readonly map = this.doc.getMap<Y.Map<unknown>>('channels');
  /** Last activity per ephemeral channel (unix ms), kept in memory only. */
  private readonly lastActive = new Map<string, number>();

  constructor(state?: Uint8Array) {
    if (state) Y.applyUpdate(this.doc, state);
  }

  onUpdate(listener: (update: Uint8Array) => void): void {
    this.doc.on('update', (update: Uint8Array) => listener(update));
  }

  encodeState(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  get size(): number {
    return this.map.size;
  }

  get(id: string): Channel | undefined {
    const m = this.map.get(id);
    return m ? read(id, m) : undefined;
  }

  list(): Channel[] {
    return [...this.map.entries()].map(([id, m]) => read(id, m)).sort((a, b) => a.order - b.order);
  }

  private children(parent: string | null): Channel[] {
    return this.list().filter((c) => c.parent === parent);
  }

  private depth(id: string | null): number {
    let d = 0;
    for (let c = id ? this.get(id) : undefined; c; c = c.parent ? this.get(c.parent) : undefined) d++;
    return d;
  }

  create(
    input: { name: string; kind: ChannelKind; parent?: string; settings?: ChannelSettings },
    now: number,
  ): Channel {
    if (this.map.size >= MAX_CHANNELS)
      throw new ProtocolError('CONFLICT', `at most ${MAX_CHANNELS} channels`);
    const parent = input.parent ?? null;
    if (parent !== null && !this.map.has(parent))
      throw new ProtocolError('NOT_FOUND', 'no such parent channel');
    if (this.depth(parent) >= MAX_DEPTH)
      throw new ProtocolError('CONFLICT', `channels nest at most ${MAX_DEPTH} deep`);
    const id = newId();
    const siblings = this.children(parent);
    const order = siblings.length ? Math.max(...siblings.map((c) => c.order)) + 1 : 0;
    this.doc.transact(() => {
      const m = new Y.Map<unknown>();
      this.map.set(id, m);
      m.set('name', input.name);
      m.set('kind', input.kind);
      m.set('parent', parent);
      m.set('order', order);
      for (const [k, v] of Object.entries({ ...DEFAULTS, ...stripName(input.settings) })) m.set(k, v);
    });
    if (this.get(id)!.ephemeral > 0) this.lastActive.set(id, now);
    return this.get(id)!;
  }

  update(id: string, settings: ChannelSettings): Channel {
    const m = this.mapOf(id);
    this.doc.transact(() => {
      for (const [k, v] of Object.entries(settings)) if (v !== undefined) m.set(k, v);
    });
    return this.get(id)!;
  }

  /** Deletes a channel and everything nested under it; returns the deleted ids. */
  delete(id: string): string[] {
    this.mapOf(id);
    const doomed: string[] = [];
    const walk = (cid: string) => {
      doomed.push(cid);
      for (const child of this.children(cid)) walk(child.id);
    };
    walk(id);
    this.doc.transact(() => {
      for (const cid of doomed) this.map.delete(cid);
    });
    for (const cid of doomed) this.lastActive.delete(cid);
    return doomed;
  }

  /** Moves a channel under `parent` (null = top level) at position `index` among its new siblings. */
  move(id: string, parent: string | null, index: number): void {
    this.mapOf(id);
    if (parent !== null) {
      this.mapOf(parent);
      for (let p: string | null = parent; p; p = this.get(p)?.parent ?? null) {
        if (p === id) throw new ProtocolError('CONFLICT', 'a channel cannot move under itself');
      }
      if (this.depth(parent) + this.subtreeHeight(id) > MAX_DEPTH) {
        throw new ProtocolError('CONFLICT', `channels nest at most ${MAX_DEPTH} deep`);
      }
    }
    const siblings = this.children(parent).filter((c) => c.id !== id);
    siblings.splice(Math.min(index, siblings.length), 0, this.get(id)!);
    this.doc.transact(() => {
      this.map.get(id)!.set('parent', parent);
      siblings.forEach((c, i) => {
        if (c.order !== i || c.id === id) this.map.get(c.id)!.set('order', i);
      });
    });
  }

  private subtreeHeight(id: string): number {
    const kids = this.children(id);
    return 1 + (kids.length ? Math.max(...kids.map((c) => this.subtreeHeight(c.id))) : 0);
  }

  /** Marks an ephemeral channel as in use now. */
  touch(id: string, now: number): void {
    if (this.lastActive.has(id)) this.lastActive.set(id, now);
  }

  /** Removes ephemeral channels idle past their limit and not occupied; returns the removed ids. */
  sweepEphemeral(now: number, occupied: (id: string) => boolean): string[] {
    const removed: string[] = [];
    for (const [id, last] of this.lastActive) {
      const c = this.get(id);
      if (!c) {
        this.lastActive.delete(id);
        continue;
      }
      if (occupied(id)) {
        this.lastActive.set(id, now);
        continue;
      }
      if (now - last >= c.ephemeral * 1000) removed.push(...this.delete(id));
    }
    return removed;
  }

  /** After a restart, ephemeral channels count as active from now on. */
  resumeEphemeral(now: number): void {
    for (const c of this.list()) if (c.ephemeral > 0) this.lastActive.set(c.id, now);
  }

  private mapOf(id: string): Y.Map<unknown> {
    const m = this.map.get(id);
    if (!m) throw new ProtocolError('NOT_FOUND', 'no such channel');
    return m;
  }
}

function stripName(settings: ChannelSettings | undefined): Omit<ChannelSettings, 'name'> {
  if (!settings) return {};
  const { name: _name, ...rest } = settings;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

function read(id: string, m: Y.Map<unknown>): Channel {
  const get = <T>(k: string, fallback: T): T => (m.get(k) as T | undefined) ?? fallback;
  return {
    id,
    name: get('name', ''),
    kind: get<ChannelKind>('kind', 'text'),
    parent: get<string | null>('parent', null),
    order: get('order', 0),
    topic: get('topic', DEFAULTS.topic),
    bitrate: get('bitrate', DEFAULTS.bitrate),
    userLimit: get('userLimit', DEFAULTS.userLimit),
    locked: get('locked', DEFAULTS.locked),
    ephemeral: get('ephemeral', DEFAULTS.ephemeral),
    meshLimit: get('meshLimit', DEFAULTS.meshLimit),
  };
}
