/**
 * The `tincan` command line. The only place that reads argv and the environment;
 * everything below it takes plain options.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RELAY_USAGE, relayCommand } from '../relay/cli.ts';
import { ADMIN_USAGE, banCommand, inviteCommand, keysCommand, UsageError } from './cli-admin.ts';
import { COTURN_USAGE, coturnConfigCommand } from './cli-coturn.ts';
import { startServer } from './server.ts';
import { VERSION } from './version.ts';

const USAGE = `tincan ${VERSION}: self-hosted, end-to-end encrypted voice and text chat

usage: tincan <command> [options]

  serve              run the server (the default of \`npm start\`)
    --host HOST        address to listen on (default $HOST or 127.0.0.1; 0.0.0.0 to expose)
    --port PORT        port (default $PORT or 8080; 0 picks a free one)
    --data DIR         data directory (default $TINCAN_DATA or ./data)
    --config FILE      a tincan.toml (default <data>/tincan.toml when present)

${ADMIN_USAGE}

${COTURN_USAGE}

${RELAY_USAGE}

  help               show this text
  --version          print the version
`;

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
      config: { type: 'string' },
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
  const server = await startServer({ host, port, dataDir, configPath: values.config });
  console.log(`tincan ${VERSION} serving on ${server.url}`);
  console.log(`server key fingerprint: ${server.identity.fingerprint}  (data: ${dataDir})`);
  if (server.adminInvite) {
    console.log('\nfirst start: open this one-time admin invite link (valid 7 days, one use):');
    console.log(`  ${server.adminInvite}\n`);
  }
  const stop = (signal: string) => {
    console.log(`tincan: ${signal}, telling clients and shutting down`);
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
      case 'invite':
        await inviteCommand(rest);
        return 0;
      case 'keys':
        await keysCommand(rest);
        return 0;
      case 'ban':
      case 'unban':
        await banCommand(rest, command === 'unban');
        return 0;
      case 'coturn-config':
        await coturnConfigCommand(rest);
        return 0;
      case 'relay':
        await relayCommand(rest, (message) => new UsageError(message));
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
