/**
 * `npm run bench`: runs every `bench/*.bench.ts` one after another (each default-exports
 * a `Bench`: `(log?) => Promise<Figure[]>`) and prints one line per figure:
 *
 *   name  value unit  baseline (what)  ratio×
 *
 * Extra arguments narrow the set by file name: `npm run bench -- crypto`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Bench, formatFigure } from './figure.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error('bench: no bench files matched');
  process.exit(1);
}
console.log(`# node ${process.version}, ${new Date().toISOString()}`);
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default?: Bench };
  if (typeof mod.default !== 'function') throw new Error(`${file} has no default export to run`);
  console.log(`# ${file}`);
  const figures = await mod.default((line) => console.log(`#   ${line}`));
  for (const f of figures) console.log(formatFigure(f));
}
