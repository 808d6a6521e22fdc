/**
 * The administrative commands: `invite`, `keys`, `ban`/`unban`. They work on the
 * data dir directly (SQLite in WAL mode lets them run beside a live server, which
 * notices bans within seconds and reloads authorized_keys on change).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { publicKeyOf } from '../crypto/identity.ts';
import { ALLOWLIST_FILE, AllowlistFile, appendToAllowlist, removeFromAllowlist } from './allowlist.ts';
import { ChannelTree } from './channels.ts';
import { loadHubOptions } from './config-bridge.ts';
import { inviteUrl, issueInvite } from './invites.ts';
import { loadServerIdentity } from './server-identity.ts';
import { Store } from './store/store.ts';

export class UsageError extends Error {}

export const ADMIN_USAGE = `admin commands (all take --data DIR, default $TINCAN_DATA or ./data):
  invite create [--role member] [--expires 7d] [--uses 1] [--channel ID] [--url BASE]
                     print a new invite link
  invite list        list invites with their uses
  invite revoke ID   revoke an invite
  keys list          list members (authorized_keys and database)
  keys add KEY [--roles member] [--name NAME]
                     add a public key to authorized_keys
  keys remove KEY    remove a key from authorized_keys and the database
  ban KEY [--reason TEXT]   ban a key (disconnects it within seconds)
  unban KEY          lift a ban`;

const COMMON = { data: { type: 'string' }, config: { type: 'string' } } as const;

/** The data dir to work on; it must exist (a typo must not create a fresh server's keys). */
function dataDirOf(value: string | undefined): string {
  const dir = value ?? process.env.TINCAN_DATA ?? './data';
  if (!existsSync(dir))
    throw new UsageError(`no data directory at ${dir} (start the server once, or pass --data DIR)`);
  return dir;
}

/** Parses `7d`, `12h`, `30m`, `90s` or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) throw new UsageError(`invalid duration: ${text} (use e.g. 30m, 12h, 7d)`);
  const scale = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * scale;
}

function validKey(key: string | undefined): string {
  if (!key) throw new UsageError('a public key (user id) is required');
  try {
    publicKeyOf(key);
  } catch {
    throw new UsageError(`not a tincan public key: ${key}`);
  }
  return key;
}

async function withStore<T>(
  dataDir: string,
  configPath: string | undefined,
  fn: (store: Store) => Promise<T> | T,
): Promise<T> {
  const { hubOptions } = await loadHubOptions(dataDir, configPath);
  const store = new Store(dataDir, { maxLogBytes: hubOptions.maxLogBytes });
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

export async function inviteCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...COMMON,
      role: { type: 'string', default: 'member' },
      expires: { type: 'string', default: '7d' },
      uses: { type: 'string', default: '1' },
      channel: { type: 'string' },
      url: { type: 'string' },
    },
  });
  const dataDir = dataDirOf(values.data);
  switch (sub) {
    case 'create': {
      const uses = Number(values.uses);
      if (!Number.isInteger(uses) || uses < 1 || uses > 10000) throw new UsageError('--uses takes 1..10000');
      const { hubOptions } = await loadHubOptions(dataDir, values.config);
      const { identity } = await loadServerIdentity(dataDir);
      await withStore(dataDir, values.config, async (store) => {
        const channels = new ChannelTree(store.loadChannelState());
        const invite = await issueInvite(
          {
            identity,
            store,
            roleExists: (r) => hubOptions.roles.has(r),
            channelExists: (id) => channels.get(id) !== undefined,
            now: Date.now,
          },
          'cli',
          {
            role: values.role!,
            expiresIn: parseDuration(values.expires!),
            maxUses: uses,
            channel: values.channel,
          },
        );
        const base =
          values.url ?? hubOptions.publicUrl ?? store.getSetting('last_url') ?? 'http://127.0.0.1:8080';
        console.log(inviteUrl(base, invite.token));
      });
      return;
    }
    case 'list':
      await withStore(dataDir, values.config, (store) => {
        const now = Date.now() / 1000;
        for (const i of store.listInvites()) {
          const state = i.revokedAt
            ? 'revoked'
            : i.expiresAt <= now
              ? 'expired'
              : i.uses >= i.maxUses
                ? 'used up'
                : 'active';
          console.log(
            `${i.id}  ${i.role.padEnd(10)} uses ${i.uses}/${i.maxUses}  ${state.padEnd(8)} expires ${new Date(i.expiresAt * 1000).toISOString()}`,
          );
        }
      });
      return;
    case 'revoke': {
      const id = positionals[0];
      if (!id) throw new UsageError('invite revoke needs an invite id (see invite list)');
      await withStore(dataDir, values.config, (store) => {
        if (!store.revokeInvite(id)) throw new Error(`no invite ${id}`);
        store.audit({ actor: 'cli', action: 'invite.revoke', target: id });
        console.log(`revoked ${id}`);
      });
      return;
    }
    default:
      throw new UsageError(`invite needs create, list or revoke`);
  }
}

export async function keysCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...COMMON, roles: { type: 'string', default: 'member' }, name: { type: 'string' } },
  });
  const dataDir = dataDirOf(values.data);
  const file = join(dataDir, ALLOWLIST_FILE);
  switch (sub) {
    case 'list': {
      const allowlist = new AllowlistFile(dataDir, {
        onChange: () => undefined,
        onError: (m) => console.error(m),
      });
      const entries = await allowlist.reload();
      await withStore(dataDir, values.config, (store) => {
        for (const e of entries)
          console.log(`${e.key}  file  ${e.roles.join(',').padEnd(16)} ${e.name ?? ''}`);
        for (const m of store.listMembers())
          console.log(`${m.key}  db    ${m.roles.join(',').padEnd(16)} ${m.name}`);
        for (const b of store.listBans()) console.log(`${b.key}  BANNED ${b.reason ?? ''}`);
      });
      return;
    }
    case 'add': {
      const key = validKey(positionals[0]);
      await appendToAllowlist(file, { key, roles: values.roles!.split(','), name: values.name });
      console.log(`added ${key} to ${file}`);
      return;
    }
    case 'remove': {
      const key = validKey(positionals[0]);
      const fromFile = await removeFromAllowlist(file, key);
      const fromDb = await withStore(dataDir, values.config, (store) => store.removeMember(key));
      if (!fromFile && !fromDb) throw new Error(`${key} is not a member`);
      console.log(`removed ${key}`);
      return;
    }
    default:
      throw new UsageError('keys needs list, add or remove');
  }
}

export async function banCommand(argv: string[], unban: boolean): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON, reason: { type: 'string' } },
  });
  const key = validKey(positionals[0]);
  await withStore(dataDirOf(values.data), values.config, (store) => {
    if (unban) {
      if (!store.unban(key)) throw new Error(`${key} is not banned`);
      store.audit({ actor: 'cli', action: 'member.unban', target: key });
      console.log(`unbanned ${key}`);
    } else {
      store.ban(key, { by: 'cli', reason: values.reason });
      store.removeMember(key);
      store.audit({ actor: 'cli', action: 'member.ban', target: key });
      console.log(`banned ${key}`);
    }
  });
}
