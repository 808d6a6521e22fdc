import { equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { toHex } from './bytes.ts';
import { generateIdentity } from './identity.ts';
import { MAX_SKIP, MAX_SKIPPED_KEYS, ReceiverChain } from './receiver-chain.ts';
import { copySenderKey, createSenderKey, nextMessageKey, type SenderKey } from './sender-key.ts';

const alice = generateIdentity();

/** The sender's first `n` message keys (hex), from a copy of `key`. */
function sentKeys(key: SenderKey, n: number): string[] {
  const sender = copySenderKey(key);
  return Array.from({ length: n }, () => toHex(nextMessageKey(sender).key));
}

function open(chain: ReceiverChain, iteration: number): string {
  const pending = chain.messageKey(iteration);
  pending.commit();
  return toHex(pending.key);
}

describe('ReceiverChain', () => {
  it('derives the sender’s keys in order', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const keys = sentKeys(key, 5);
    const chain = new ReceiverChain(key);
    keys.forEach((k, i) => {
      equal(open(chain, i), k, `iteration ${i}`);
    });
    equal(chain.iteration, 5);
    equal(chain.skippedCount, 0);
  });

  it('opens skipped and reordered messages, each once', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const keys = sentKeys(key, 10);
    const chain = new ReceiverChain(key);
    for (const i of [9, 3, 0, 5, 8, 1]) equal(open(chain, i), keys[i], `iteration ${i}`);
    equal(chain.skippedCount, 4); // 2, 4, 6, 7
    for (const i of [9, 3, 0]) throwsCode(() => chain.messageKey(i), 'TOO_OLD', `iteration ${i} again`);
    for (const i of [2, 4, 6, 7]) equal(open(chain, i), keys[i]);
    equal(chain.skippedCount, 0);
  });

  it('changes nothing until commit', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const keys = sentKeys(key, 4);
    const chain = new ReceiverChain(key);
    equal(toHex(chain.messageKey(3).key), keys[3]);
    equal(chain.iteration, 0);
    equal(chain.skippedCount, 0);
    equal(open(chain, 1), keys[1]);
    equal(open(chain, 0), keys[0]);
  });

  it('refuses a commit after the chain moved', () => {
    const chain = new ReceiverChain(createSenderKey('general', 0, alice.publicKey));
    const stale = chain.messageKey(2);
    chain.messageKey(1).commit();
    throwsCode(() => stale.commit(), 'BAD_INPUT');
  });

  it('skips at most MAX_SKIP ahead, then UNKNOWN_KEY', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const chain = new ReceiverChain(key);
    throwsCode(() => chain.messageKey(MAX_SKIP + 1), 'UNKNOWN_KEY');
    const keys = sentKeys(key, MAX_SKIP + 1);
    equal(open(chain, MAX_SKIP), keys[MAX_SKIP]);
    equal(chain.skippedCount, MAX_SKIP);
    throwsCode(() => chain.messageKey(2 * MAX_SKIP + 2), 'UNKNOWN_KEY');
  });

  it('keeps at most MAX_SKIPPED_KEYS skipped keys, dropping the oldest', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const chain = new ReceiverChain(key);
    open(chain, MAX_SKIP);
    open(chain, 2 * MAX_SKIP);
    ok(chain.skippedCount <= MAX_SKIPPED_KEYS);
    throwsCode(() => chain.messageKey(0), 'TOO_OLD', 'the oldest skipped key was dropped');
    const keys = sentKeys(key, 2 * MAX_SKIP);
    equal(open(chain, 2 * MAX_SKIP - 1), keys[2 * MAX_SKIP - 1], 'the newest skipped key is kept');
  });

  it('reads nothing before the iteration it was given, nor after a wipe', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const keys = sentKeys(key, 8);
    const late = copySenderKey(key);
    for (let i = 0; i < 5; i++) nextMessageKey(late);
    const chain = new ReceiverChain(late);
    for (let i = 0; i < 5; i++) throwsCode(() => chain.messageKey(i), 'TOO_OLD');
    equal(open(chain, 6), keys[6]);
    chain.wipe();
    throwsCode(() => chain.messageKey(5), 'TOO_OLD');
    throwsCode(() => chain.messageKey(7), 'TOO_OLD');
  });

  it('does not share arrays with the key it starts from', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const keys = sentKeys(key, 1);
    const chain = new ReceiverChain(key);
    key.chainKey.fill(0);
    equal(open(chain, 0), keys[0]);
  });

  it('rejects bad iterations and keys with labelled BAD_INPUT', () => {
    const chain = new ReceiverChain(createSenderKey('general', 0, alice.publicKey));
    for (const bad of [-1, 1.5, 2 ** 32 - 1, Number.NaN, '1']) {
      ok(throwsCode(() => chain.messageKey(bad as number), 'BAD_INPUT').message.includes('iteration'));
    }
    throwsCode(() => new ReceiverChain({} as SenderKey), 'BAD_INPUT');
  });
});
