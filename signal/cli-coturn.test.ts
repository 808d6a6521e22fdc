/**
 * `tincan coturn-config`: the template renders with every placeholder filled and the
 * server's own TURN secret, refuses values that would break or inject config lines,
 * and the rendered file is accepted by real coturn: no unknown option, credentials
 * minted by a tincan server on the same data dir allocate relays (plain and over TLS),
 * a wrong password does not, and the production peer deny-list is in force.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Coturn,
  coturnMissing,
  freePort,
  startCoturn,
  stunAnswersTls,
  uclient,
} from '../test/helpers/coturn.ts';
import { connect, member, startTestServer } from '../test/helpers/signal.ts';
import { UsageError } from './cli-admin.ts';
import { COTURN_TEMPLATE, type CoturnValues, coturnConfig, renderCoturnConfig } from './cli-coturn.ts';
import { type IceServer, turnPassword } from './turn.ts';

const SECRET = 'render-test-secret-0123456789abcdef';
const BASE: CoturnValues = {
  secret: SECRET,
  realm: 'chat.example.org',
  port: 3478,
  tlsPort: 5349,
  minPort: 49160,
  maxPort: 49200,
};

/** The config's effective lines (comments and blanks dropped). */
const activeLines = (config: string) => config.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('coturn-config rendering', () => {
  let template: string;
  before(async () => {
    template = await readFile(COTURN_TEMPLATE, 'utf8');
  });

  it('fills every placeholder and puts the secret on its own line', () => {
    const config = renderCoturnConfig(template, BASE);
    assert.doesNotMatch(config, /\{\{|\}\}/, 'no placeholder left');
    const lines = activeLines(config);
    assert.ok(lines.includes(`static-auth-secret=${SECRET}`), 'the secret');
    for (const line of [
      'use-auth-secret',
      'realm=chat.example.org',
      'listening-port=3478',
      'min-port=49160',
      'max-port=49200',
      'fingerprint',
      'no-cli',
      'no-multicast-peers',
      'no-tls',
      'no-dtls',
      'denied-peer-ip=10.0.0.0-10.255.255.255',
      'denied-peer-ip=127.0.0.0-127.255.255.255',
      'denied-peer-ip=192.168.0.0-192.168.255.255',
    ])
      assert.ok(lines.includes(line), `expected the line "${line}"`);
    // Optional lines stay commented out when their option is not given.
    for (const prefix of ['external-ip=', 'cert=', 'pkey=', 'tls-listening-port='])
      assert.ok(!lines.some((l) => l.startsWith(prefix)), `${prefix} is commented out`);
    assert.ok(config.includes('#external-ip='), 'the external-ip line is there to uncomment');
  });

  it('enables TLS and the external address when given', () => {
    const lines = activeLines(
      renderCoturnConfig(template, {
        ...BASE,
        externalIp: '198.51.100.7/10.0.0.5',
        tls: { cert: '/etc/coturn/tls/fullchain.pem', key: '/etc/coturn/tls/privkey.pem' },
      }),
    );
    for (const line of [
      'external-ip=198.51.100.7/10.0.0.5',
      'tls-listening-port=5349',
      'cert=/etc/coturn/tls/fullchain.pem',
      'pkey=/etc/coturn/tls/privkey.pem',
    ])
      assert.ok(lines.includes(line), `expected the line "${line}"`);
    assert.ok(!lines.includes('no-tls'), 'TLS is not switched off');
  });

  it('refuses values that would break the file or inject lines', () => {
    const refuse = (values: Partial<CoturnValues>, what: string) =>
      assert.throws(() => renderCoturnConfig(template, { ...BASE, ...values }), UsageError, what);
    refuse({ secret: `${SECRET}\nallow-loopback-peers` }, 'a secret with a newline');
    refuse({ secret: ` ${SECRET}` }, 'a secret with a leading space');
    refuse({ secret: 'short' }, 'a secret under 16 characters');
    refuse({ realm: 'chat example' }, 'a realm with a space');
    refuse({ port: 0 }, 'port 0');
    refuse({ port: 70000 }, 'port 70000');
    refuse({ minPort: 50000, maxPort: 49000 }, 'an inverted relay range');
    refuse({ port: 49170 }, 'the listening port inside the relay range');
    refuse({ externalIp: 'example.org' }, 'a name as external IP');
    refuse({ externalIp: '1.2.3.4/5.6.7.8/9.9.9.9' }, 'three addresses');
    refuse({ tls: { cert: '/a\nno-auth', key: '/b' } }, 'a cert path with a newline');
  });

  it('refuses a template with a placeholder it does not know', () => {
    assert.throws(
      () => renderCoturnConfig(`${template}\nfoo={{FOO}}\n`, BASE),
      /unknown placeholders: \{\{FOO\}\}/,
    );
  });
});

describe('tincan coturn-config', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-coturn-config-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('prints the data dir’s TURN secret and reminds to set [turn] urls', async () => {
    await writeFile(join(dataDir, 'turn.secret'), `${SECRET}\n`);
    const { config, notes } = await coturnConfig(['--data', dataDir, '--realm', 'chat.example.org']);
    assert.ok(activeLines(config).includes(`static-auth-secret=${SECRET}`));
    assert.doesNotMatch(config, /\{\{/);
    assert.match(notes, /\[turn\]\n\s+urls = \["stun:[^"]+:3478","turn:[^"]+:3478\?transport=udp"/);
    assert.match(notes, /turn\.secret/, 'says where the secret comes from');
  });

  it('prefers [turn] secret from tincan.toml', async () => {
    const toml = join(dataDir, 'other.toml');
    await writeFile(toml, '[turn]\nsecret = "from-the-config-file-0123456789"\n');
    const { config, notes } = await coturnConfig(['--data', dataDir, '--config', toml]);
    assert.ok(activeLines(config).includes('static-auth-secret=from-the-config-file-0123456789'));
    assert.match(notes, /\[turn\] secret in tincan\.toml/);
  });

  it('refuses a data dir that does not exist rather than minting a secret nobody shares', async () => {
    await assert.rejects(coturnConfig(['--data', join(dataDir, 'nope')]), /no data directory/);
  });

  it('refuses --tls-cert without --tls-key, and unknown options', async () => {
    await assert.rejects(coturnConfig(['--data', dataDir, '--tls-cert', '/x.pem']), UsageError);
    await assert.rejects(coturnConfig(['--data', dataDir, '--bogus']), {
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
  });
});

describe('coturn runs the rendered config', { skip: coturnMissing() }, () => {
  const bob = member(['member'], 'bob');
  let dataDir: string;
  let work: string;
  let credentials: { username: string; credential: string };
  const started: Coturn[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-coturn-data-'));
    work = await mkdtemp(join(tmpdir(), 'tincan-coturn-work-'));
    // A tincan server on this data dir makes the secret (turn.secret, as in production:
    // the toml names only the urls) and mints the credentials.
    await writeFile(join(dataDir, 'tincan.toml'), '[turn]\nurls = ["turn:127.0.0.1:3478?transport=udp"]\n');
    const t = await startTestServer({ dataDir, authorizedKeys: bob.line });
    try {
      const client = await connect(t, bob.identity);
      const reply = await client.request('turn.credentials');
      client.close();
      const entry = (reply.iceServers as IceServer[])[0];
      assert.ok(entry?.username && entry.credential, `credentials in ${JSON.stringify(reply)}`);
      credentials = { username: entry.username, credential: entry.credential };
    } finally {
      await t.close();
    }
  });
  after(async () => {
    for (const c of started) await c.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  /** Renders through the command and runs it on loopback (addresses overridden on the command line). */
  const run = async (extra: string[], args: string[] = []): Promise<{ coturn: Coturn; config: string }> => {
    const { config } = await coturnConfig(['--data', dataDir, '--realm', 'tincan.test', ...extra]);
    const file = join(work, `turnserver-${started.length}.conf`);
    await writeFile(file, config, { mode: 0o600 });
    const coturn = await startCoturn({
      secret: 'unused: the config file has it',
      configFile: file,
      // Loopback only; allow-loopback-peers lifts coturn's built-in loopback ban, so a
      // refused loopback peer below is the template's own denied-peer-ip at work.
      args: ['--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', '--allow-loopback-peers', ...args],
    });
    started.push(coturn);
    const complaints = coturn.logs.filter((l) => /Bad configuration format|CONFIG ERROR|Unknown/i.test(l));
    assert.deepEqual(complaints, [], 'coturn understood every line of the rendered file');
    return { coturn, config };
  };

  it('allocates with credentials the server minted, refuses a wrong password, and denies private peers', async () => {
    const { coturn, config } = await run([]);
    const secretLine = activeLines(config).find((l) => l.startsWith('static-auth-secret='));
    assert.ok(secretLine, 'a static-auth-secret line');
    assert.equal(
      credentials.credential,
      turnPassword(secretLine.slice('static-auth-secret='.length), credentials.username),
      'the rendered secret is the one the server mints with',
    );
    const ok = await uclient({
      port: coturn.port,
      username: credentials.username,
      password: credentials.credential,
    });
    assert.doesNotMatch(
      ok.output,
      /Cannot complete Allocation/,
      `the allocation succeeds\n${ok.output.slice(-800)}`,
    );
    assert.match(ok.output, /403 \(Forbidden IP\)/, `the loopback peer is refused\n${ok.output.slice(-800)}`);
    assert.ok(
      coturn.logs.some((l) => l.includes('denied in the range: 127.0.0.0-127.255.255.255')),
      'by the template’s denied-peer-ip',
    );
    const bad = await uclient({ port: coturn.port, username: credentials.username, password: 'wrong' });
    assert.match(
      bad.output,
      /Cannot complete Allocation/,
      `a wrong password is refused\n${bad.output.slice(-800)}`,
    );
  });

  it('serves STUN/TURN over TLS with --tls-cert/--tls-key', { skip: opensslMissing() }, async () => {
    const cert = join(work, 'cert.pem');
    const key = join(work, 'key.pem');
    const args = 'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost';
    const made = spawnSync('openssl', [...args.split(' '), '-keyout', key, '-out', cert], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(made.status, 0, `openssl made a test certificate: ${made.stderr}`);
    const tlsPort = await freePort();
    const { coturn } = await run(['--tls-cert', cert, '--tls-key', key], [`--tls-listening-port=${tlsPort}`]);
    assert.ok(
      coturn.logs.some((l) => l.includes(`Certificate file found: ${cert}`)),
      'coturn loaded the certificate',
    );
    const version = await stunAnswersTls(tlsPort, 5000);
    assert.match(version, /^TLSv1\.[23]$/, `a modern TLS version, got ${version}`);
  });
});

function opensslMissing(): string | undefined {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).error
    ? 'openssl is not installed; skipping the TLS variant'
    : undefined;
}
