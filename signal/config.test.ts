import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PERMISSIONS } from '../protocol/messages.ts';
import { CONFIG_FILE, ConfigError, defaultConfig, loadConfig, parseConfig } from './config.ts';

const EXAMPLE = readFileSync(new URL('../tincan.example.toml', import.meta.url), 'utf8');

/** Expects parseConfig to refuse `text` with `code`, naming `key` in the message. */
function refuses(text: string, key: string, code = 'CONFIG_INVALID'): ConfigError {
  let caught: unknown;
  try {
    parseConfig(text, 'test.toml');
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof ConfigError,
    `expected a ConfigError for ${JSON.stringify(text)}, got ${String(caught)}`,
  );
  assert.equal(caught.code, code);
  assert.equal(caught.file, 'test.toml');
  assert.ok(caught.message.startsWith('test.toml: '), caught.message);
  assert.ok(caught.message.includes(key), `"${caught.message}" names ${key}`);
  if (code === 'CONFIG_INVALID') assert.equal(caught.key, key);
  return caught;
}

describe('config: defaults and the example file', () => {
  it('an empty file gives the defaults', () => {
    assert.deepEqual(parseConfig(''), defaultConfig());
    const d = defaultConfig();
    assert.equal(d.server.name, 'tincan');
    assert.equal(d.server.open, false);
    assert.equal(d.server.defaultRole, 'guest');
    assert.equal(d.limits.maxFrameBytes, 65536);
    assert.equal(d.limits.maxLogBytes, 256 * 1024 * 1024);
    assert.deepEqual(d.roles.get('admin')?.permissions, [...PERMISSIONS]);
    assert.deepEqual([...d.roles.keys()], ['admin', 'moderator', 'member', 'guest']);
    assert.equal(d.fixedChannels, false);
  });

  it('tincan.example.toml equals the defaults', () => {
    assert.deepEqual(parseConfig(EXAMPLE, 'tincan.example.toml'), defaultConfig());
  });

  it('tincan.example.toml still loads with every optional "# " line switched on', () => {
    const on = EXAMPLE.split('\n')
      .map((line) => line.replace(/^# ?(?=[^#]|$)/, ''))
      .join('\n');
    assert.notEqual(on, EXAMPLE);
    const c = parseConfig(on, 'example-on.toml');
    assert.equal(c.server.publicUrl, 'https://chat.example.org');
    assert.equal(c.turn.secret, 'change-me-to-a-long-random-string');
    assert.equal(c.turn.urls.length, 3);
    assert.deepEqual(c.relay, { udpPorts: [10000, 10199], announcedIp: '203.0.113.10' });
    assert.deepEqual(c.roles.get('dj'), {
      permissions: ['move', 'speak', 'send', 'upload'],
      rate: { perSecond: 30, burst: 60 },
      priority: 20,
    });
    assert.equal(c.fixedChannels, true);
    assert.deepEqual(c.channels, [
      { name: 'general', kind: 'text', settings: { topic: 'Anything goes' }, children: [] },
      {
        name: 'Voice',
        kind: 'voice',
        settings: { bitrate: 64000 },
        children: [
          { name: 'Quiet room', kind: 'voice', settings: { userLimit: 4 }, children: [] },
          { name: 'Staff', kind: 'voice', settings: { locked: true }, children: [] },
          { name: 'AFK', kind: 'voice', settings: {}, children: [] },
        ],
      },
    ]);
  });

  it('documents every key the checker knows', () => {
    const on = EXAMPLE.replace(/^# ?/gm, '');
    for (const key of [
      'name',
      'public_url',
      'allowed_origins',
      'open',
      'default_role',
      'pow_difficulty',
      'max_connections_per_ip',
      'max_sessions_per_identity',
      'auth_skew_seconds',
      'heartbeat_seconds',
      'max_frame_bytes',
      'max_log_bytes',
      'max_upload_bytes',
      'max_send_queue_bytes',
      'max_topics_per_connection',
      'permissions',
      'rate',
      'priority',
      'udp_ports',
      'announced_ip',
      'secret',
      'urls',
      'ttl_seconds',
      'kind',
      'topic',
      'bitrate',
      'user_limit',
      'locked',
      'parent',
      'children',
    ])
      assert.match(on, new RegExp(`(^|[\\s.])${key}\\b`, 'm'), key);
  });
});

describe('config: values', () => {
  it('reads every section', () => {
    const c = parseConfig(`
      [server]
      name = "Gamers"
      public_url = "https://chat.example.org/"
      relay = "https://relay.example.org"
      allowed_origins = ["https://chat.example.org/", "http://localhost:5173"]
      open = true
      default_role = "member"
      pow_difficulty = 18
      trusted_proxies = ["10.0.0.2", "::1"]
      max_connections_per_ip = 5
      max_sessions_per_identity = 3
      auth_skew_seconds = 30
      heartbeat_seconds = 15
      [limits]
      max_frame_bytes = 131072
      max_log_bytes = "1 GiB"
      max_upload_bytes = "1.5 MiB"
      max_send_queue_bytes = "2MiB"
      max_topics_per_connection = 8
      [relay]
      udp_ports = [3480, 3480]
      announced_ip = "2001:db8::7"
      [turn]
      secret = "0123456789abcdef0123"
      urls = ["turns:turn.example.org:5349?transport=tcp"]
      ttl_seconds = 3600
    `);
    assert.deepEqual(c.server, {
      name: 'Gamers',
      publicUrl: 'https://chat.example.org',
      relay: 'https://relay.example.org',
      allowedOrigins: ['https://chat.example.org', 'http://localhost:5173'],
      open: true,
      defaultRole: 'member',
      powDifficulty: 18,
      trustedProxies: ['10.0.0.2', '::1'],
      maxConnectionsPerIp: 5,
      maxSessionsPerIdentity: 3,
      authSkewSeconds: 30,
      heartbeatSeconds: 15,
    });
    assert.deepEqual(c.limits, {
      maxFrameBytes: 131072,
      maxLogBytes: 1 << 30,
      maxUploadBytes: 1.5 * 1024 * 1024,
      maxSendQueueBytes: 2 << 20,
      maxTopicsPerConnection: 8,
    });
    assert.deepEqual(c.relay, { udpPorts: [3480, 3480], announcedIp: '2001:db8::7' });
    assert.deepEqual(c.turn, {
      secret: '0123456789abcdef0123',
      urls: ['turns:turn.example.org:5349?transport=tcp'],
      ttlSeconds: 3600,
    });
  });

  it('overrides a built-in role key by key and adds new roles', () => {
    const c = parseConfig(`
      [roles.member]
      permissions = ["speak", "send", "speak"]
      [roles.guest]
      priority = 5
      [roles.bot]
      permissions = ["*"]
    `);
    assert.deepEqual(c.roles.get('member'), {
      permissions: ['speak', 'send'],
      rate: { perSecond: 50, burst: 100 },
      priority: 10,
    });
    assert.equal(c.roles.get('guest')?.priority, 5);
    assert.deepEqual(c.roles.get('guest')?.permissions, ['speak', 'send']);
    assert.deepEqual(c.roles.get('bot'), {
      permissions: [...PERMISSIONS],
      rate: { perSecond: 10, burst: 20 },
      priority: 0,
    });
    assert.equal(c.roles.get('admin')?.priority, 100, 'untouched roles keep their defaults');
  });

  it('builds a fixed channel tree from nesting and parent names', () => {
    const c = parseConfig(`
      [[channels]]
      name = "Sub"
      kind = "voice"
      parent = "Deep"
      [[channels]]
      name = "Top"
      kind = "text"
      [[channels.children]]
      name = "Mid"
      kind = "text"
      [[channels.children.children]]
      name = "Deep"
      kind = "voice"
      user_limit = 0
    `);
    assert.equal(c.fixedChannels, true);
    assert.deepEqual(c.channels, [
      {
        name: 'Top',
        kind: 'text',
        settings: {},
        children: [
          {
            name: 'Mid',
            kind: 'text',
            settings: {},
            children: [
              {
                name: 'Deep',
                kind: 'voice',
                settings: { userLimit: 0 },
                children: [{ name: 'Sub', kind: 'voice', settings: {}, children: [] }],
              },
            ],
          },
        ],
      },
    ]);
  });
});

describe('config: refusals name the file and the key', () => {
  it('refuses unknown keys and sections', () => {
    refuses('[server]\nnmae = "x"', 'server.nmae');
    refuses('[serve]\nname = "x"', 'serve');
    refuses('[roles.guest]\npriorty = 1', 'roles.guest.priorty');
    refuses('[roles.guest]\nrate = { messages_per_second = 1, burst = 2, x = 3 }', 'roles.guest.rate.x');
    refuses('[[channels]]\nname = "a"\nkind = "text"\nbitrate_ = 1', 'channels[0].bitrate_');
  });

  it('refuses values of the wrong type or out of range', () => {
    refuses('[server]\nopen = "yes"', 'server.open');
    refuses('[server]\npow_difficulty = 29', 'server.pow_difficulty');
    refuses('[server]\npow_difficulty = 1.5', 'server.pow_difficulty');
    refuses('[server]\nmax_connections_per_ip = 0', 'server.max_connections_per_ip');
    refuses('[server]\ntrusted_proxies = ["proxy.example.org"]', 'server.trusted_proxies[0]');
    refuses('[server]\ntrusted_proxies = ["10.0.0.0/8"]', 'server.trusted_proxies[0]');
    refuses('[server]\npublic_url = "ftp://example.org"', 'server.public_url');
    refuses('[server]\nallowed_origins = ["evil"]', 'server.allowed_origins[0]');
    refuses('[server]\npublic_url = "https://x.org/?a=1"', 'server.public_url');
    refuses('[server]\nname = ""', 'server.name');
    refuses('[limits]\nmax_frame_bytes = "64 KB"', 'limits.max_frame_bytes');
    refuses('[limits]\nmax_frame_bytes = 100', 'limits.max_frame_bytes');
    refuses(
      '[limits]\nmax_send_queue_bytes = "64 KiB"\nmax_frame_bytes = "128 KiB"',
      'limits.max_send_queue_bytes',
    );
    refuses('[relay]\nudp_ports = [0, 10]', 'relay.udp_ports[0]');
    refuses('[relay]\nudp_ports = [10000, 65536]', 'relay.udp_ports[1]');
    refuses('[relay]\nudp_ports = [10000]', 'relay.udp_ports');
    refuses('[relay]\nudp_ports = "10000-10199"', 'relay.udp_ports');
    refuses('[relay]\nudp_ports = [10199, 10000]', 'relay.udp_ports');
    refuses('[relay]\nannounced_ip = "chat.example.org"', 'relay.announced_ip');
    refuses('[relay]\nannounced_ip = "10.0.0.0/8"', 'relay.announced_ip');
    refuses('[turn]\nttl_seconds = 59', 'turn.ttl_seconds');
    refuses('[turn]\nttl_seconds = 604801', 'turn.ttl_seconds');
    refuses('[turn]\nurls = ["http://turn.example.org"]', 'turn.urls[0]');
    refuses('[turn]\nsecret = "short"', 'turn.secret');
    refuses('[server]\nname = 1979-05-27', 'server.name');
  });

  it('refuses bad roles', () => {
    refuses('[roles.guest]\npermissions = ["fly"]', 'roles.guest.permissions[0]');
    refuses('[roles.new]\npriority = 1', 'roles.new.permissions');
    refuses('[roles.Admins]\npermissions = []', 'roles.Admins');
    refuses(
      '[roles.guest]\nrate = { messages_per_second = 0, burst = 1 }',
      'roles.guest.rate.messages_per_second',
    );
    refuses('[roles.guest]\nrate = { burst = 1 }', 'roles.guest.rate.messages_per_second');
    refuses('[server]\ndefault_role = "visitor"', 'server.default_role');
  });

  it('refuses bad channel trees', () => {
    refuses('[[channels]]\nname = "a"\nkind = "video"', 'channels[0].kind');
    refuses(
      '[[channels]]\nname = "a"\nkind = "text"\n[[channels]]\nname = "a"\nkind = "voice"',
      'channels[1].name',
    );
    refuses('[[channels]]\nname = "a"\nkind = "text"\nparent = "nope"', 'channels[0].parent');
    refuses(
      '[[channels]]\nname = "a"\nkind = "text"\nparent = "b"\n[[channels]]\nname = "b"\nkind = "text"\nparent = "a"',
      'channels[0].parent',
    );
    refuses('[[channels]]\nname = "a"\nkind = "text"\nparent = "a"', 'channels[0].parent');
    refuses(
      '[[channels]]\nname = "a"\nkind = "text"\n[[channels.children]]\nname = "b"\nkind = "text"\nparent = "a"',
      'channels[0].children[0].parent',
    );
    refuses('[[channels]]\nname = "a"\nkind = "voice"\nbitrate = 100', 'channels[0].bitrate');
    let deep = '';
    for (let i = 0; i < 9; i++)
      deep += `[[channels${'.children'.repeat(i)}]]\nname = "c${i}"\nkind = "text"\n`;
    refuses(deep, `channels[0]${'.children[0]'.repeat(7)}.children`);
    refuses('channels = []', 'channels');
  });

  it('reports TOML syntax errors with line and column', () => {
    const error = refuses('[server]\nname = "x"\nopen = ', '3:', 'CONFIG_SYNTAX');
    assert.equal(error.key, undefined);
    refuses('[server]\nname = "a"\nname = "b"', 'test.toml', 'CONFIG_SYNTAX');
  });
});

describe('config: loading', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tincan-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the defaults when the data dir has no tincan.toml', async () => {
    assert.deepEqual(await loadConfig({ dataDir: dir }), { config: defaultConfig(), file: undefined });
  });

  it('reads <dataDir>/tincan.toml when present, and an explicit path first', async () => {
    const inDir = join(dir, CONFIG_FILE);
    writeFileSync(inDir, '[server]\nname = "from data dir"\n');
    const loaded = await loadConfig({ dataDir: dir });
    assert.equal(loaded.file, inDir);
    assert.equal(loaded.config.server.name, 'from data dir');
    const explicit = join(dir, 'other.toml');
    writeFileSync(explicit, '[server]\nname = "explicit"\n');
    assert.equal((await loadConfig({ dataDir: dir, path: explicit })).config.server.name, 'explicit');
  });

  it('fails when an explicit path is missing, and names the file in errors', async () => {
    const missing = join(dir, 'missing.toml');
    await assert.rejects(loadConfig({ dataDir: dir, path: missing }), (e: unknown) => {
      return e instanceof ConfigError && e.code === 'CONFIG_UNREADABLE' && e.message.includes(missing);
    });
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[limits]\nmax_log_bytes = -1\n');
    await assert.rejects(loadConfig({ dataDir: dir, path: bad }), (e: unknown) => {
      return (
        e instanceof ConfigError &&
        e.message.startsWith(`${bad}: limits.max_log_bytes: expected`) &&
        e.file === bad
      );
    });
  });
});
