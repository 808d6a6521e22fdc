/**
 * The `tincan` command line. The only place that reads argv and the environment;
 * everything below it takes plain options.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './server.ts';
import { VERSION } from './version.ts';

const USAGE = `tincan ${VERSION}: self-hosted, end-to-end encrypted voice and text chat

usage: tincan <command> [options]

commands:
  serve              run the server (the default of \`npm start\`)
  help               show this text

serve options:
  --host HOST        address to listen on (default $HOST or 127.0.0.1; 0.0.0.0 to expose)
  --port PORT        port (default $PORT or 8080; 0 picks a free one)
  --data DIR         data directory (default $TINCAN_DATA or ./data)
`;

export class UsageError extends Error {
  readonly exitCode = 2;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid port: ${value}`);
  return port;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  const port = parsePort(values.port ?? process.env.PORT ?? '8080');
  const dataDir = resolve(values.data ?? process.env.TINCAN_DATA ?? './data');
  await mkdir(dataDir, { recursive: true });
  const server = await startServer({ host, port, dataDir });
  console.log(`tincan ${VERSION} serving on ${server.url}`);
  const stop = (signal: string) => {
    console.log(`tincan: ${signal}, shutting down`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        await serve(rest);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      case '--version':
        console.log(VERSION);
        return 0;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tincan: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`tincan: ${(error as Error).message}`);
    return 1;
  }
}
