/** Starts an HTTP server listening; resolves with its port and the host as a URL writes it. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listen(
  http: Server,
  port: number,
  host: string,
): Promise<{ port: number; urlHost: string }> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  return { port: address.port, urlHost: host.includes(':') ? `[${host}]` : host };
}
