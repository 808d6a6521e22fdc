/**
 * A signal server in its own process, for fault tests that SIGKILL it: started by
 * `node --import tsx test/faults/server-child.ts <dataDir> <port> <webDir>`, it
 * prints one JSON line `{"ready":true,"port":…,"url":…}` once it listens, and logs
 * nothing else to stdout. Test-friendly limits come from `TINCAN_FAULT_OVERRIDES`
 * (JSON of a Partial<HubOptions> with plain fields only).
 */
import type { HubOptions } from '../../signal/options.ts';
import { startServer } from '../../signal/server.ts';

const [dataDir, portArg = '0', webDir] = process.argv.slice(2);
if (!dataDir || !webDir) {
  console.error('usage: server-child.ts <dataDir> <port> <webDir>');
  process.exit(2);
}
const overrides = JSON.parse(process.env.TINCAN_FAULT_OVERRIDES ?? '{}') as Partial<HubOptions>;
const server = await startServer({
  host: '127.0.0.1',
  port: Number(portArg),
  dataDir,
  webDir,
  relay: false,
  overrides,
  log: { info: () => {}, warn: (m) => console.error(`WARN ${m}`) },
});
console.log(JSON.stringify({ ready: true, port: server.port, url: server.url }));
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
