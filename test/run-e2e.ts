/**
 * Runs every `*.e2e.test.ts` under test/e2e with node:test and tsx, one file at a
 * time: each launches Chromium and a server, and the machine has two cores. The files
 * import node:test themselves (they are Node-only) and are not run by run-node.ts.
 * Extra arguments narrow the set: `npm run test:e2e -- datachannel`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join('test', 'e2e');
/** Per test, so a hung browser cannot stall the run forever. */
const TEST_TIMEOUT_MS = 120_000;

function collect(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collect(path, out);
    else if (entry.name.endsWith('.e2e.test.ts')) out.push(path);
  }
}

const filters = process.argv.slice(2);
const files: string[] = [];
collect(ROOT, files);
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
if (selected.length === 0) {
  console.error('run-e2e: no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...selected],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
