/**
 * Opening a text channel of 10,000 messages with no local cache, in Node: the client
 * core's path from `Conversation.open()` (history → inbox → key manager → document)
 * to the newest page's messages being in `conversation.messages`, without a server
 * or a browser (app.bench.ts measures the same in Chromium). The reader holds the
 * writer's iteration-0 key, as a newcomer does after an invite bundle, so the newest
 * page opens through the key manager's history derivation.
 *
 *   node --import tsx bench/open-history.ts            OPEN_RUNS=9 (default 7)
 *   OPEN_PROFILE=/tmp/open.cpuprofile node --import tsx bench/open-history.ts
 *
 * With OPEN_PROFILE, the timed opens (not the sealing) are CPU-profiled into that file.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { toBase64url } from '../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../crypto/identity.ts';
import { peekMessageHeader, sealMessage } from '../crypto/message.ts';
import { deserializeSenderKey } from '../crypto/sender-key.ts';
import { ChannelDoc } from '../web/core/channel-doc.ts';
import { Conversation } from '../web/core/conversation.ts';
import { encodeDocPlaintext, updateIds } from '../web/core/doc-ids.ts';
import { FileTransfer } from '../web/core/file-transfer.ts';
import { rawIdentity } from '../web/core/identity-provider.ts';
import { KeyDistributor } from '../web/core/key-distributor.ts';
import { KeyManager } from '../web/core/key-manager.ts';
import { type LogEntry, MemoryCache } from '../web/core/local-cache.ts';
import { type Figure, figure, median } from './figure.ts';

const COUNT = 10_000;
const SMALL = 50;
const RUNS = Number(process.env.OPEN_RUNS ?? 7);
const CHANNEL = 'big-channel';

/** `count` sealed update entries by one writer, seq 1…count, the last one's text ending in "(newest)". */
async function sealHistory(count: number) {
  const writer = rawIdentity(generateIdentity());
  const writerId = userIdOf(writer.publicKey);
  const keys = new KeyManager(writer.publicKey);
  const key = keys.sendingKey(CHANNEL);
  const zero = keys.myDistribution(CHANNEL, 0)!;
  const entries: LogEntry[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const ids = updateIds(writer.publicKey, CHANNEL, key.epoch, key.iteration);
    const text = `history #${seq}${seq === count ? ' (newest)' : ''}`;
    // Each post is its own update of its own client: a scratch document makes the same bytes.
    const update = new ChannelDoc().change(ids.clientId, writerId, (d) =>
      d.createPost(ids.postId, { author: writerId, at: 1_700_000_000_000 + seq, text }),
    )!;
    const sealed = await sealMessage(writer.signer, key, encodeDocPlaintext(update));
    entries.push({
      seq,
      kind: 'update',
      id: toBase64url(peekMessageHeader(sealed).id),
      author: writerId,
      at: 1_700_000_000_000 + seq,
      blob: toBase64url(sealed),
    });
  }
  return { entries, zero };
}

/** A `log.fetch` over `entries` as the server answers it (seq order, at most `limit`). */
function fetcher(entries: readonly LogEntry[]) {
  return async (type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> => {
    if (type !== 'log.fetch') throw new Error(`unexpected request ${type}`);
    const limit = Number(fields.limit);
    const page =
      typeof fields.after === 'number'
        ? entries.filter((e) => e.seq > (fields.after as number)).slice(0, limit)
        : entries.filter((e) => e.seq < (fields.before as number)).slice(-limit);
    return { entries: page.map((e) => ({ ...e })) };
  };
}

/** A fresh reader (no cache, the writer's iteration-0 key installed) opening the channel; ms until the newest post shows. */
async function openOnce(entries: readonly LogEntry[], zero: Uint8Array): Promise<number> {
  const reader = rawIdentity(generateIdentity());
  const readerId = userIdOf(reader.publicKey);
  const keys = new KeyManager(reader.publicKey);
  keys.install(deserializeSenderKey(zero));
  const request = fetcher(entries);
  const refuse = async (): Promise<Record<string, unknown>> => {
    throw new Error('the reader does not write here');
  };
  const conversation = new Conversation(CHANNEL, {
    identity: reader,
    meId: readerId,
    keys,
    distributor: new KeyDistributor({
      identity: reader,
      keys,
      enqueue: refuse,
      publish: () => undefined,
      readersOf: () => [readerId],
      isMember: () => true,
    }),
    cache: new MemoryCache(),
    online: () => true,
    request,
    enqueue: refuse,
    files: new FileTransfer({ request, enqueue: refuse }),
    maxUploadBytes: () => 0,
    publish: () => undefined,
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    members: () => [],
    isModerator: () => false,
    mayRead: () => true,
    onUnread: () => undefined,
  });
  const t0 = performance.now();
  const shown = new Promise<number>((resolve) => {
    const stop = conversation.messages.subscribe((list) => {
      if (list.at(-1)?.text.endsWith('(newest)')) {
        stop();
        resolve(performance.now() - t0);
      }
    });
  });
  await conversation.open();
  const ms = await shown;
  const { forged, rejected, undecryptable } = conversation.inbox.stats;
  if (forged + rejected + undecryptable > 0)
    throw new Error(`open: ${forged} forged, ${rejected} rejected, ${undecryptable} undecryptable`);
  return ms;
}

const bench = async (log: (line: string) => void = () => undefined): Promise<Figure[]> => {
  const t0 = performance.now();
  const big = await sealHistory(COUNT);
  const small = await sealHistory(SMALL);
  log(`sealed ${COUNT} messages in ${(performance.now() - t0).toFixed(0)} ms`);
  await openOnce(big.entries, big.zero); // warm-up (JIT, WebCrypto key import)
  const profile = process.env.OPEN_PROFILE;
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const bigMs: number[] = [];
  const smallMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bigMs.push(await openOnce(big.entries, big.zero));
    smallMs.push(await openOnce(small.entries, small.zero));
  }
  if (session && profile) {
    const { profile: data } = await session.post('Profiler.stop');
    await writeFile(profile, JSON.stringify(data));
    session.disconnect();
    log(`profile of the timed opens in ${profile}`);
  }
  log(`open ${COUNT} ms: ${bigMs.map((v) => v.toFixed(1)).join(' ')}`);
  log(`open ${SMALL} ms: ${smallMs.map((v) => v.toFixed(1)).join(' ')}`);
  return [
    figure(
      `open a channel of ${COUNT} messages in Node (no cache), median of ${RUNS}`,
      median(bigMs),
      'ms',
      `${SMALL} messages`,
      median(smallMs),
    ),
  ];
};

export default bench;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatFigure } = await import('./figure.ts');
  for (const f of await bench(console.log)) console.log(formatFigure(f));
}
