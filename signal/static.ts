/**
 * Serves the built web client from `dist/` with security headers. Only files that
 * exist under the root are served; anything else is a 404 (never a directory listing,
 * never a path outside the root).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/**
 * What the app needs and nothing else: its own scripts and styles (Lit uses
 * constructable stylesheets; `unsafe-inline` styles are not needed), images from
 * blob:/data: (decrypted attachments), media from blob:, and WebSockets to any
 * host: one page joins several tincan servers (each its own `wss://…/ws`).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader(
    'Permissions-Policy',
    'microphone=(self), camera=(self), display-capture=(self), geolocation=()',
  );
}

export class StaticFiles {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly root: string) {}

  /** Serves GET/HEAD for a path under the root; returns false when there is no such file. */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const full = normalize(join(this.root, rel));
    if (!full.startsWith(this.root + sep)) return false;
    let body = this.cache.get(full);
    if (!body) {
      try {
        body = await readFile(full);
      } catch {
        return false; // no such file (or a directory): the caller answers 404
      }
      this.cache.set(full, body);
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(full)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': rel === 'index.html' ? 'no-cache' : 'public, max-age=300',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
