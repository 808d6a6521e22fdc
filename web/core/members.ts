/**
 * The member list of one server as this client sees it: filled from the welcome,
 * kept current by `presence` pushes and `member.removed`. Everything the server
 * sends is checked field by field (never cast). Local-only: tags, and the key each
 * display name was first seen with (`keyChanged` when a name comes back with
 * another key).
 */
import type { MemberInfo } from './model.ts';
import { Value } from './observable.ts';

/** Roles treated as moderators when the server does not say a member's permissions. */
const MODERATOR_ROLES = new Set(['admin', 'owner', 'moderator']);
const MODERATION = ['kick', 'mute'];

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** A member record from the server, or undefined when malformed. */
export function parseMember(
  value: unknown,
): (Omit<MemberInfo, 'tags' | 'keyChanged'> & { permissions?: string[] }) | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.key !== 'string' || typeof m.name !== 'string' || !isStrings(m.roles)) return undefined;
  const voice: MemberInfo['voice'] = [];
  if (Array.isArray(m.voice)) {
    for (const v of m.voice as unknown[]) {
      if (typeof v !== 'object' || v === null) continue;
      const s = v as Record<string, unknown>;
      if (typeof s.channel === 'string')
        voice.push({
          channel: s.channel,
          muted: s.muted === true,
          deafened: s.deafened === true,
          relay: s.relay === true,
        });
    }
  }
  return {
    key: m.key,
    name: m.name,
    roles: [...m.roles],
    online: m.online === true,
    serverMuted: m.serverMuted === true,
    voice,
    ...(isStrings(m.permissions) ? { permissions: [...m.permissions] } : {}),
  };
}

export class Members {
  readonly list = new Value<MemberInfo[]>([]);
  /** Names of people who were members and are not now (left, kicked, banned), so their messages keep a name. */
  readonly former = new Value<Record<string, string>>({});
  private readonly byKey = new Map<string, MemberInfo & { permissions?: string[] }>();
  private readonly tags = new Map<string, string[]>();
  /** display name (lower case) → the first key seen with it. */
  private readonly pinned = new Map<string, string>();

  /** Replaces the list (a welcome); returns the keys not known before. */
  reset(values: readonly unknown[]): string[] {
    const before = new Map([...this.byKey].map(([k, m]) => [k, m.name]));
    this.byKey.clear();
    for (const v of values) this.put(v);
    this.remember([...before].filter(([k]) => !this.byKey.has(k)));
    this.publish();
    return [...this.byKey.keys()].filter((k) => !before.has(k));
  }

  /** A presence push: returns the key when it is a member this list did not hold. */
  presence(message: Record<string, unknown>): string | undefined {
    if (typeof message.removed === 'string') {
      this.remove(message.removed);
      return undefined;
    }
    const key = this.put(message.member);
    this.publish();
    return key;
  }

  remove(key: string): void {
    const gone = this.byKey.get(key);
    if (!gone) return;
    this.byKey.delete(key);
    this.remember([[key, gone.name]]);
    this.publish();
  }

  /** Former members' names from an earlier visit (checked: strings only). */
  restoreFormer(saved: unknown): void {
    if (typeof saved !== 'object' || saved === null) return;
    const entries = Object.entries(saved).filter(
      (e): e is [string, string] => typeof e[1] === 'string' && !this.byKey.has(e[0]),
    );
    this.remember(entries);
  }

  private remember(gone: [string, string][]): void {
    const former = { ...this.former.value };
    for (const [key, name] of gone) former[key] = name;
    for (const key of this.byKey.keys()) delete former[key]; // back again
    this.former.set(former, (a, b) => JSON.stringify(a) === JSON.stringify(b));
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): MemberInfo | undefined {
    return this.byKey.get(key);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** Whether a member may remove others' messages (`kick` or `mute`). */
  isModerator(key: string): boolean {
    const m = this.byKey.get(key);
    if (!m) return false;
    if (m.permissions) return MODERATION.some((p) => m.permissions!.includes(p));
    return m.roles.some((r) => MODERATOR_ROLES.has(r));
  }

  setTags(key: string, tags: string[]): void {
    this.tags.set(key, [...tags]);
    const m = this.byKey.get(key);
    if (m) {
      m.tags = [...tags];
      this.publish();
    }
  }

  /** Sets a member's permissions as the server told them (my own, from the welcome). */
  setPermissions(key: string, permissions: string[]): void {
    const m = this.byKey.get(key);
    if (m) m.permissions = [...permissions];
  }

  private put(value: unknown): string | undefined {
    const parsed = parseMember(value);
    if (!parsed) return undefined;
    const isNew = !this.byKey.has(parsed.key);
    if (isNew && parsed.key in this.former.value) {
      const { [parsed.key]: _back, ...rest } = this.former.value;
      this.former.set(rest);
    }
    const name = parsed.name.toLowerCase();
    if (!this.pinned.has(name)) this.pinned.set(name, parsed.key);
    const held = this.byKey.get(parsed.key);
    this.byKey.set(parsed.key, {
      ...parsed,
      permissions: parsed.permissions ?? held?.permissions,
      tags: this.tags.get(parsed.key) ?? [],
      keyChanged: this.pinned.get(name) !== parsed.key,
    });
    return isNew ? parsed.key : undefined;
  }

  private publish(): void {
    this.list.set(
      [...this.byKey.values()]
        .map(({ permissions: _p, ...m }) => ({ ...m }))
        .sort((a, b) => a.name.localeCompare(b.name) || (a.key < b.key ? -1 : 1)),
    );
  }
}
