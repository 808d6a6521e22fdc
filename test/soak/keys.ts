/**
 * Device key state for returning members: what each member's browser would have
 * kept from earlier visits (its IndexedDB `keys` setting) once every sender key of
 * the server's text channels had been handed around. With it, a soak of hundreds of
 * members measures delivery, churn and memory rather than the one-off key hand-over,
 * which costs O(N²) envelopes across a server of N members (each member seals its
 * key to every reader, each reader opens one envelope per sender) and which this
 * process, holding all N members, would pay in full.
 *
 * In KeyManager's own saved format (SavedKeys), so the ServerSession restores it
 * exactly as it restores a browser's saved keys.
 */
import { toBase64url } from '../../crypto/bytes.ts';
import { type IdentityKeyPair, userIdOf } from '../../crypto/identity.ts';
import { createSenderKey, serializeSenderKey } from '../../crypto/sender-key.ts';
import type { SavedKeys } from '../../web/core/key-manager.ts';
import { MemoryCache } from '../../web/core/local-cache.ts';

/** The name ServerSession keeps its saved keys under in the LocalCache (server-view.ts KEYS_SETTING). */
export const KEYS_SETTING = 'keys';

/**
 * Saved keys per member at epoch 0: member i sends in `channels[channelOf[i]]` with
 * its own sender key (iteration 0), holds every member's key (each for the channel
 * that member sends in), and has given its key to every member, so nothing is
 * handed over again.
 */
export function seededKeys(
  pairs: readonly IdentityKeyPair[],
  channelOf: readonly number[],
  channels: readonly string[],
): SavedKeys[] {
  const ids = pairs.map((p) => userIdOf(p.publicKey));
  const received = pairs.map((p, i) =>
    toBase64url(serializeSenderKey(createSenderKey(channels[channelOf[i]!]!, 0, p.publicKey))),
  );
  return pairs.map((_, i) => ({
    epoch: 0,
    removed: [],
    received,
    mine: [received[i]!],
    distributed: [[channels[channelOf[i]!]!, 0, ids]],
  }));
}

/** A LocalCache holding `saved` as a browser would after earlier visits. */
export async function cacheWith(saved: SavedKeys): Promise<MemoryCache> {
  const cache = new MemoryCache();
  await cache.putSetting(KEYS_SETTING, saved);
  return cache;
}
