/**
 * Who may connect: the union of the `authorized_keys` file (edited by hand or the
 * CLI) and the members table (invites, open mode, role changes). The database wins
 * where both name a key, except that a key listed in the file cannot be removed by
 * a kick (edit the file for that); bans come only from the database.
 */
import type { AllowlistEntry } from './allowlist.ts';
import type { Store } from './store/store.ts';

export interface Member {
  key: string;
  name: string;
  roles: string[];
  source: 'file' | 'db';
}

export class Members {
  private file = new Map<string, AllowlistEntry>();
  private bans = new Set<string>();
  private version = -1;

  constructor(private readonly store: Store) {
    this.newlyBanned();
  }

  /** Replaces the file's entries (on load, change or SIGHUP). */
  setFileEntries(entries: readonly AllowlistEntry[]): void {
    this.file = new Map(entries.map((e) => [e.key, e]));
  }

  /**
   * Notices bans written by another process (the CLI) cheaply, via SQLite's
   * data_version; returns the keys banned since the last call.
   */
  newlyBanned(): string[] {
    const version = this.store.dataVersion();
    if (version === this.version) return [];
    this.version = version;
    const bans = new Set(this.store.listBans().map((b) => b.key));
    const fresh = [...bans].filter((k) => !this.bans.has(k));
    this.bans = bans;
    return fresh;
  }

  find(key: string): Member | undefined {
    const row = this.store.getMember(key);
    if (row) return { key, name: row.name, roles: [...row.roles], source: 'db' };
    const entry = this.file.get(key);
    if (entry)
      return {
        key,
        name: entry.name || 'member',
        roles: entry.roles.length ? [...entry.roles] : ['member'],
        source: 'file',
      };
    return undefined;
  }

  list(): Member[] {
    const out = new Map<string, Member>();
    for (const e of this.file.values()) {
      out.set(e.key, {
        key: e.key,
        name: e.name || 'member',
        roles: e.roles.length ? [...e.roles] : ['member'],
        source: 'file',
      });
    }
    for (const row of this.store.listMembers())
      out.set(row.key, { key: row.key, name: row.name, roles: [...row.roles], source: 'db' });
    return [...out.values()];
  }

  isBanned(key: string): boolean {
    return this.store.isBanned(key);
  }

  add(member: { key: string; name: string; roles: string[]; addedBy: string }): Member {
    this.store.upsertMember(member);
    return { key: member.key, name: member.name, roles: member.roles, source: 'db' };
  }
}
