/**
 * `tincan relay`: the voice relay on its own (another machine or process). It needs
 * only the signal server's public key, to check tickets: `--server-key` (the server
 * id, base64url) or `--data` (a data dir holding `server.key`). Point the signal
 * server's members at it with `[server] relay = "https://relay-host"` in its config.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromBase64url } from '../crypto/bytes.ts';
import { identityFromSecretKey, publicKeyOf } from '../crypto/identity.ts';
import { DEFAULT_TRUSTED_PROXIES, validProxyEntry } from './client-ip.ts';
import { startRelay } from './server.ts';

export const RELAY_USAGE = `  relay              run the voice relay alone
    --host HOST        address to listen on (default 127.0.0.1)
    --port PORT        port (default 8081)
    --server-key ID    the signal server's id (base64url public key) …
    --data DIR         … or the signal server's data dir, to read it from server.key
    --trusted-proxy A  a proxy whose X-Forwarded-For names the client (repeatable;
                       default loopback; none: believe no header)
    --udp-ports A-B    the UDP ports data channels take, one per client (open
                       them in the firewall); default any
    --announced-ip IP  the public address clients dial, behind a 1:1 NAT`;

export async function relayCommand(argv: string[], usageError: (message: string) => Error): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'server-key': { type: 'string' },
      data: { type: 'string' },
      'trusted-proxy': { type: 'string', multiple: true },
      'udp-ports': { type: 'string' },
      'announced-ip': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port ?? '8081');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`invalid port: ${values.port}`);
  let serverKey: Uint8Array;
  if (values['server-key'] !== undefined) {
    try {
      serverKey = publicKeyOf(values['server-key']);
    } catch {
      throw usageError('--server-key is not a server id (base64url P-256 public key)');
    }
  } else if (values.data !== undefined) {
    // Read, never create: a relay must not mint a server identity of its own.
    const secret = (await readFile(join(values.data, 'server.key'), 'utf8')).trim();
    serverKey = identityFromSecretKey(fromBase64url(secret)).publicKey;
  } else throw usageError('relay needs --server-key or --data');
  const proxies = values['trusted-proxy'] ?? [...DEFAULT_TRUSTED_PROXIES];
  const trustedProxies = proxies.includes('none') ? [] : proxies;
  const bad = trustedProxies.find((p) => !validProxyEntry(p));
  if (bad !== undefined) throw usageError(`--trusted-proxy ${bad}: "loopback", "none" or an IP address`);
  const range = values['udp-ports'];
  let ports: [number, number] | undefined;
  if (range !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(range);
    const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw usageError(`invalid --udp-ports: ${range} (LOW-HIGH)`);
    ports = [lo, hi];
  }
  const announcedIp = values['announced-ip'];
  if (announcedIp !== undefined && isIP(announcedIp) === 0)
    throw usageError(`--announced-ip ${announcedIp}: not an IP address`);
  const relay = await startRelay({
    host: values.host ?? '127.0.0.1',
    port,
    serverKey,
    trustedProxies,
    peer: {
      ...(ports ? { portRangeBegin: ports[0], portRangeEnd: ports[1] } : {}),
      ...(announcedIp !== undefined ? { announcedIp } : {}),
    },
  });
  console.log(`tincan relay on ${relay.url}`);
  const stop = () => {
    relay.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
