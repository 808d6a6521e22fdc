/**
 * The signal server's HTTP side: the web app, `/healthz`, and (later) `/metrics` and
 * the `/ws` upgrade. Owns the listening socket; holds no per-user state itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DIST_DIR, ensureWebBuilt } from '../web/build.ts';
import { securityHeaders, StaticFiles } from './static.ts';
import { VERSION } from './version.ts';

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Where the built web client lives (default `dist/`). */
  webDir?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly http: Server;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const webDir = options.webDir ?? DIST_DIR;
  if (webDir === DIST_DIR) await ensureWebBuilt();
  const files = new StaticFiles(webDir);
  const startedAt = Date.now();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    securityHeaders(res);
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (pathname === '/healthz') {
      const body = JSON.stringify({ ok: true, version: VERSION, uptime: (Date.now() - startedAt) / 1000 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
      return;
    }
    if (await files.serve(req, res, pathname)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('http: request failed', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    http,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
