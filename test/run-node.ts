/**
 * Runs every Node test file (`*.test.ts` outside node_modules, test/e2e and
 * `*.browser.test.ts`) with node:test, tsx, and the shared describe/it globals.
 * Node 20's --test does not expand globs itself. Extra arguments narrow the set:
 * `npm run test:node -- crypto` runs only files whose path contains "crypto".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['crypto', 'protocol', 'signal', 'relay', 'web', 'bot', 'test', 'bin'];
const SKIP_DIRS = new Set(['node_modules', 'e2e', 'dist', 'vectors']);

function collect(dir: string, out: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // a root that does not exist yet has no tests
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) collect(path, out);
    } else if (entry.name.endsWith('.test.ts') && !entry.name.endsWith('.browser.test.ts')) {
      out.push(path);
    }
  }
}

const filters = process.argv.slice(2);
const files: string[] = [];
for (const root of ROOTS) collect(root, files);
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
if (selected.length === 0) {
  console.error('run-node: no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './test/helpers/node-globals.ts',
    '--test',
    '--test-concurrency=2',
    ...selected,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
