/**
 * `tincan coturn-config`: prints a turnserver.conf for running coturn beside this
 * server, rendered from deploy/coturn/turnserver.conf.template with this server's TURN
 * secret (`[turn] secret` in tincan.toml, else `<data>/turn.secret`), so coturn accepts
 * exactly the credentials tincan mints. The config goes to stdout; what to do next
 * (set `[turn] urls`) goes to stderr, so `tincan coturn-config > turnserver.conf` works.
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './cli-admin.ts';
import { loadHubOptions } from './config-bridge.ts';

export const COTURN_TEMPLATE = fileURLToPath(
  new URL('../deploy/coturn/turnserver.conf.template', import.meta.url),
);

export const COTURN_USAGE = `  coturn-config      print a coturn turnserver.conf with this server's TURN secret
    --data DIR         data directory (default $TINCAN_DATA or ./data)
    --config FILE      a tincan.toml (default <data>/tincan.toml when present)
    --realm NAME       TURN realm (default: the host of server.public_url, or "tincan")
    --port 3478        TURN port, UDP and TCP
    --tls-port 5349    TURN over TLS port (with --tls-cert and --tls-key)
    --min-port 49160   first UDP relay port
    --max-port 49200   last UDP relay port
    --external-ip IP   public address when behind 1:1 NAT (PUBLIC or PUBLIC/PRIVATE)
    --tls-cert FILE    certificate chain (PEM) for turns:
    --tls-key FILE     its private key (PEM)`;

export interface CoturnValues {
  secret: string;
  realm: string;
  port: number;
  tlsPort: number;
  minPort: number;
  maxPort: number;
  externalIp?: string | undefined;
  tls?: { cert: string; key: string } | undefined;
}

/** What an unset optional value shows on its commented-out line. */
const EXAMPLES = {
  externalIp: '203.0.113.10',
  cert: '/etc/coturn/tls/fullchain.pem',
  key: '/etc/coturn/tls/privkey.pem',
};

const PLACEHOLDER = /\{\{([A-Z_]+)\}\}/g;

/** A value going into one config line must not end that line or start another. */
function oneLine(value: string, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (value === '' || /[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value)
    throw new UsageError(`${what} must be one line without control characters or surrounding spaces`);
  return value;
}

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`${what} must be a port number 1..65535, got ${port}`);
  return port;
}

/** Checks the values, then fills every placeholder of `template`; throws on any left unknown. */
export function renderCoturnConfig(template: string, values: CoturnValues): string {
  const secret = oneLine(values.secret, 'the TURN secret');
  if (secret.length < 16) throw new UsageError('the TURN secret must be at least 16 characters');
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(values.realm))
    throw new UsageError(
      `--realm takes a domain-like name (letters, digits, dots, dashes), got ${values.realm}`,
    );
  const port = checkPort(values.port, '--port');
  const tlsPort = checkPort(values.tlsPort, '--tls-port');
  const minPort = checkPort(values.minPort, '--min-port');
  const maxPort = checkPort(values.maxPort, '--max-port');
  if (minPort > maxPort) throw new UsageError(`--min-port ${minPort} is above --max-port ${maxPort}`);
  for (const [p, name] of [
    [port, '--port'],
    [tlsPort, '--tls-port'],
  ] as const) {
    if (p >= minPort && p <= maxPort)
      throw new UsageError(`${name} ${p} lies inside the relay range ${minPort}-${maxPort}`);
  }
  if (values.externalIp !== undefined) {
    const parts = values.externalIp.split('/');
    if (parts.length > 2 || parts.some((p) => isIP(p) === 0))
      throw new UsageError(
        `--external-ip takes PUBLIC or PUBLIC/PRIVATE addresses, got ${values.externalIp}`,
      );
  }
  const tls = values.tls && {
    cert: oneLine(values.tls.cert, '--tls-cert'),
    key: oneLine(values.tls.key, '--tls-key'),
  };
  const fill: Record<string, string> = {
    SECRET: secret,
    REALM: values.realm,
    PORT: String(port),
    TLS_PORT: String(tlsPort),
    MIN_PORT: String(minPort),
    MAX_PORT: String(maxPort),
    EXTERNAL_IP: values.externalIp ?? EXAMPLES.externalIp,
    TLS_CERT: tls?.cert ?? EXAMPLES.cert,
    TLS_KEY: tls?.key ?? EXAMPLES.key,
    IF_EXTERNAL_IP: values.externalIp === undefined ? '#' : '',
    IF_TLS: tls ? '' : '#',
    IF_NO_TLS: tls ? '#' : '',
  };
  const unknown = new Set<string>();
  const out = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = fill[name];
    if (value === undefined) unknown.add(whole);
    return value ?? whole;
  });
  if (unknown.size > 0)
    throw new Error(`the coturn template has unknown placeholders: ${[...unknown].join(', ')}`);
  return out;
}

function portOption(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} takes a port number, got ${value}`);
  return checkPort(Number(value), what);
}

/** Parses the options, loads this server's secret, and renders; `notes` is for stderr. */
export async function coturnConfig(argv: string[]): Promise<{ config: string; notes: string }> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      config: { type: 'string' },
      realm: { type: 'string' },
      port: { type: 'string' },
      'tls-port': { type: 'string' },
      'min-port': { type: 'string' },
      'max-port': { type: 'string' },
      'external-ip': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  const dataDir = resolve(values.data ?? process.env.TINCAN_DATA ?? './data');
  // A mistyped --data must not mint a fresh secret the running server does not know.
  if (
    !(await stat(dataDir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new Error(`no data directory at ${dataDir}: start the server once, or pass --data DIR`);
  const { hubOptions, config } = await loadHubOptions(dataDir, values.config);
  const publicHost = hubOptions.publicUrl ? new URL(hubOptions.publicUrl).hostname : undefined;
  const rendered: CoturnValues = {
    secret: hubOptions.turn.secret,
    realm: values.realm ?? publicHost ?? 'tincan',
    port: portOption(values.port, 3478, '--port'),
    tlsPort: portOption(values['tls-port'], 5349, '--tls-port'),
    minPort: portOption(values['min-port'], 49160, '--min-port'),
    maxPort: portOption(values['max-port'], 49200, '--max-port'),
    externalIp: values['external-ip'],
    tls:
      values['tls-cert'] && values['tls-key']
        ? { cert: resolve(values['tls-cert']), key: resolve(values['tls-key']) }
        : undefined,
  };
  const output = renderCoturnConfig(await readFile(COTURN_TEMPLATE, 'utf8'), rendered);

  const host = publicHost ?? rendered.externalIp?.split('/')[0] ?? 'turn.example.org';
  const urls = [
    `stun:${host}:${rendered.port}`,
    `turn:${host}:${rendered.port}?transport=udp`,
    `turn:${host}:${rendered.port}?transport=tcp`,
    ...(rendered.tls ? [`turns:${host}:${rendered.tlsPort}?transport=tcp`] : []),
  ];
  const source = config.turn.secret !== undefined ? '[turn] secret in tincan.toml' : `${dataDir}/turn.secret`;
  const current = hubOptions.turn.urls.length
    ? `now: urls = ${JSON.stringify(hubOptions.turn.urls)}`
    : 'now: not set, so clients get no TURN server';
  const notes = [
    `tincan: coturn config for realm "${rendered.realm}" printed on stdout; it holds the TURN secret from ${source}.`,
    'tincan: tell clients where coturn is: set [turn] urls in tincan.toml, then restart tincan:',
    '',
    '  [turn]',
    `  urls = ${JSON.stringify(urls)}`,
    '',
    ...(publicHost || rendered.externalIp
      ? []
      : [
          "tincan: (turn.example.org stands for this host's public name; set server.public_url to fill it in)",
        ]),
    `tincan: (${current})`,
    `tincan: open ${rendered.port}/udp+tcp${rendered.tls ? `, ${rendered.tlsPort}/tcp` : ''} and ${rendered.minPort}-${rendered.maxPort}/udp on the firewall.`,
  ].join('\n');
  return { config: output, notes };
}

export async function coturnConfigCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: tincan coturn-config [options] > turnserver.conf\n\n${COTURN_USAGE}`);
    return;
  }
  const { config, notes } = await coturnConfig(argv);
  process.stdout.write(config);
  process.stderr.write(`${notes}\n`);
}
