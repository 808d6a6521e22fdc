/**
 * End-to-end sessions: the real server on 127.0.0.1:0 with a fresh data dir, Debian's
 * Chromium launched once through playwright-core, and one browser context per peer
 * (separate storage, so separate identities), each with a page open on the server.
 *
 * `close()` tears everything down in reverse order (contexts, browser, server, data
 * dir), also when set-up failed half-way; `withE2E` adds screenshots on failure. Page
 * console warnings/errors and uncaught exceptions are printed with the peer's name
 * (`E2E_CONSOLE=all` prints every console message). Node-only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { HubOptions } from '../../signal/options.ts';
import { type RunningServer, startServer } from '../../signal/server.ts';
import chromiumConfig from './chromium.json' with { type: 'json' };

/** Screenshots and other artefacts of failed runs (gitignored). */
export const RESULTS_DIR = resolve(import.meta.dirname, '../../test-results');
/** Bound on each browser action and teardown step. */
export const STEP_TIMEOUT_MS = 10_000;

const PEER_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

export interface Peer {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far, for asserting a clean run. */
  readonly errors: string[];
}

export interface E2EOptions {
  /** Peers (browser contexts) to open at start; default 2. */
  peers?: number;
  /** Path each page opens; default `/`. */
  path?: string;
  /** authorized_keys content written to the data dir before the server starts. */
  authorizedKeys?: string;
  /** Hub options over the config (TURN, limits, …). */
  overrides?: Partial<HubOptions>;
  /** Runs on each new context before its page opens, e.g. to route test pages. */
  setupContext?: (context: BrowserContext) => Promise<void>;
}

export interface E2ESession {
  readonly url: string;
  readonly server: RunningServer;
  readonly dataDir: string;
  readonly browser: Browser;
  readonly peers: readonly Peer[];
  /** Opens one more peer in a context of its own. */
  addPeer(name?: string): Promise<Peer>;
  /** Saves every peer's page to `test-results/<label>-<peer>.png`; returns the paths. */
  screenshot(label: string): Promise<string[]>;
  /** Closes contexts, browser and server and deletes the data dir. Idempotent. */
  close(): Promise<void>;
}

/** Rejects with "timed out after … waiting for <what>" unless `work` settles within `ms`. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function forwardConsole(name: string, page: Page, errors: string[]): void {
  const all = process.env.E2E_CONSOLE === 'all';
  page.on('console', (message) => {
    const type = message.type();
    if (type !== 'error' && type !== 'warning' && !all) return;
    const { url, lineNumber } = message.location();
    const line = `[${name}] console.${type}: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`;
    if (type === 'error') errors.push(line);
    console.error(line);
  });
  page.on('pageerror', (error) => {
    const line = `[${name}] uncaught: ${error.stack ?? error.message}`;
    errors.push(line);
    console.error(line);
  });
  page.on('crash', () => {
    errors.push(`[${name}] page crashed`);
    console.error(`[${name}] page crashed`);
  });
}

export async function e2eSession(options: E2EOptions = {}): Promise<E2ESession> {
  const teardown: Array<[string, () => Promise<unknown>]> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const failures: unknown[] = [];
      for (const [what, step] of teardown.reverse()) {
        try {
          await within(STEP_TIMEOUT_MS, what, step());
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, 'e2e teardown failed');
    })();
    return closing;
  };

  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'tincan-e2e-'));
    teardown.push(['removing the data dir', () => rm(dataDir, { recursive: true, force: true })]);
    if (options.authorizedKeys !== undefined)
      await writeFile(join(dataDir, 'authorized_keys'), options.authorizedKeys);
    const server = await startServer({ host: '127.0.0.1', port: 0, dataDir, overrides: options.overrides });
    teardown.push(['the server to close', () => server.close()]);
    const browser = await chromium.launch({
      executablePath: process.env.CHROME_PATH ?? chromiumConfig.executablePath,
      headless: true,
      args: chromiumConfig.args,
      timeout: 30_000,
    });
    teardown.push(['the browser to close', () => browser.close()]);

    const peers: Peer[] = [];
    const addPeer = async (name = PEER_NAMES[peers.length] ?? `peer-${peers.length + 1}`): Promise<Peer> => {
      const context = await browser.newContext({ permissions: ['microphone', 'camera'] });
      teardown.push([`${name}'s context to close`, () => context.close()]);
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
      // tsx compiles with esbuild's keepNames, so functions handed to page.evaluate may
      // call esbuild's `__name` helper, which pages do not have.
      await context.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
      await options.setupContext?.(context);
      const page = await context.newPage();
      const errors: string[] = [];
      forwardConsole(name, page, errors);
      const response = await page.goto(new URL(options.path ?? '/', server.url).href);
      if (!response?.ok())
        throw new Error(`${name}: expected the page to load, got HTTP ${response?.status()}`);
      const peer = { name, context, page, errors };
      peers.push(peer);
      return peer;
    };
    for (let i = 0; i < (options.peers ?? 2); i++) await addPeer();

    const screenshot = async (label: string): Promise<string[]> => {
      await mkdir(RESULTS_DIR, { recursive: true });
      const safe = label.replace(/[^A-Za-z0-9_.-]+/g, '-');
      return Promise.all(
        peers.map(async ({ name, page }) => {
          const path = join(RESULTS_DIR, `${safe}-${name}.png`);
          await page.screenshot({ path, fullPage: true });
          return path;
        }),
      );
    };

    return { url: server.url, server, dataDir, browser, peers, addPeer, screenshot, close };
  } catch (error) {
    await close().catch((teardownError: unknown) =>
      console.error('e2e: teardown after a failed set-up:', teardownError),
    );
    throw error;
  }
}

/**
 * Runs `fn` in a fresh session and always tears it down; when `fn` fails, first saves
 * screenshots to `test-results/<label>-failed-<peer>.png`.
 */
export async function withE2E<T>(
  label: string,
  options: E2EOptions,
  fn: (session: E2ESession) => Promise<T>,
): Promise<T> {
  const session = await e2eSession(options);
  let result: T;
  try {
    result = await fn(session);
  } catch (error) {
    await session.screenshot(`${label}-failed`).then(
      (paths) => console.error(`e2e: screenshots of the failure: ${paths.join(', ')}`),
      (screenshotError: unknown) => console.error('e2e: could not save screenshots:', screenshotError),
    );
    await session
      .close()
      .catch((teardownError: unknown) => console.error('e2e: teardown failed:', teardownError));
    throw error;
  }
  await session.close();
  return result;
}
