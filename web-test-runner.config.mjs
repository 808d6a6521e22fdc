/**
 * @web/test-runner in Debian's Chromium: the isomorphic crypto/ and protocol/ suites
 * (the same `*.test.ts` files node:test runs, here under mocha's describe/it globals)
 * and the browser-only `*.browser.test.ts` files. Scenarios with several peers in
 * separate browser contexts are not here (wtr runs a file in one page): see test/e2e.
 *
 * Binary and flags are shared with the end-to-end suite (test/helpers/chromium.json);
 * `CHROME_PATH` overrides the binary.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';

const fromHere = (path) => fileURLToPath(new URL(path, import.meta.url));
const chromiumConfig = JSON.parse(readFileSync(fromHere('./test/helpers/chromium.json'), 'utf8'));

const chromium = chromeLauncher({
  launchOptions: {
    executablePath: process.env.CHROME_PATH ?? chromiumConfig.executablePath,
    headless: true,
    args: chromiumConfig.args,
  },
});
// The launcher calls every locally installed binary "Chrome"; this one is Debian's Chromium.
chromium.name = 'Chromium';

export default {
  files: ['crypto/**/*.test.ts', 'protocol/**/*.test.ts', '**/*.browser.test.ts', '!**/node_modules/**'],
  nodeResolve: true,
  concurrency: 1,
  concurrentBrowsers: 1,
  browserStartTimeout: 60_000,
  testsStartTimeout: 60_000,
  testsFinishTimeout: 120_000,
  testFramework: { config: { timeout: 10_000 } },
  plugins: [
    // Test files import vectors with `import x from '….json' with { type: 'json' }`.
    // esbuild silently drops the `with` clause for targets older than chrome123 (and
    // for es20xx targets), and Chromium then refuses the JSON file as a JS module
    // ("Failed to fetch dynamically imported module"). chrome123 keeps it; the dev
    // server serves .json as application/json, which a JSON module import needs.
    esbuildPlugin({ ts: true, target: 'chrome123', tsconfig: fromHere('./tsconfig.json') }),
  ],
  browsers: [chromium],
};
