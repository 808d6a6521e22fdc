#!/usr/bin/env node
// The `tincan` command: registers the TypeScript loader, then runs signal/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../signal/cli.ts');
const code = await main(process.argv.slice(2));
if (code !== 0) process.exit(code);
