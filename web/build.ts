/**
 * Builds the web client into `dist/`: `app.js` (one ES module bundle, minified,
 * with a source map) and `index.html`. Used by `npm run build` and, when `dist/`
 * is missing or older than the sources, by the server at start-up.
 */
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = join(ROOT, 'dist');
const SOURCE_DIRS = ['web', 'crypto', 'protocol'].map((d) => join(ROOT, d));

export async function buildWeb(outDir = DIST_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'web/main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(ROOT, 'web/index.html'), join(outDir, 'index.html'));
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    const { mtimeMs } = await stat(join(entry.parentPath ?? dir, entry.name));
    newest = Math.max(newest, mtimeMs);
  }
  return newest;
}

/** Builds only when dist/ is missing or older than any web/crypto/protocol source. */
export async function ensureWebBuilt(outDir = DIST_DIR): Promise<void> {
  const built = await stat(join(outDir, 'app.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(...(await Promise.all(SOURCE_DIRS.map(newestMtime))));
  if (built < sources) await buildWeb(outDir);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWeb();
  console.log(`built ${DIST_DIR}`);
}
