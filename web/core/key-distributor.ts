/**
 * Hands my sender keys to the members who should have them, through the logs
 * (key-entry.ts):
 * - before my first message on a chain, to every current member of the
 *   conversation (a channel: all members, me included for my other devices; a DM:
 *   its two parties), queued ahead of the message in the same outbox. Before every
 *   send it first lets the KeyManager move this device to a fresh chain when another
 *   device of my identity took the iterations ahead (`claimSendingKey`), so a new
 *   chain always goes out before the first message sealed with it;
 * - to newcomers (a new member seen in presence or at connect), for the
 *   conversations where my identity already sent at the current epoch — never DMs;
 * - to a member that asks (a signed `key.request` note on the lobby topic `keys`),
 *   again at most once a minute per (conversation, member).
 * Newcomers and askers get every chain of my identity held here for the epoch (other
 * devices' too: a key entry may carry any key whose sender sealed it, and these are
 * mine), so they read what a device gone for good (a bot restarted without its state)
 * sent. Every key goes only to current members: a removed member never gets a key of
 * an epoch after its removal. Work is bounded: `MAX_HANDOVER_CONVERSATIONS` per
 * newcomer, `MAX_ASKED` requests answered per minute.
 */
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { publicKeyOf } from '../../crypto/identity.ts';
import type { IdentityProvider } from './identity-provider.ts';
import { MAX_KEY_ENTRY_BYTES, sealKeyEntries } from './key-entry.ts';
import type { KeyManager } from './key-manager.ts';
import { signNote, verifyNote } from './signed-signal.ts';

export const MAX_HANDOVER_CONVERSATIONS = 64;
const MAX_ASKED = 32;
const ASK_INTERVAL_MS = 60_000;
export const KEYS_TOPIC = 'keys';

export interface DistributorContext {
  identity: IdentityProvider;
  keys: KeyManager;
  /** Queues an exactly-once append (ServerConnection.enqueue). */
  enqueue(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
  publish(topic: string, data: unknown): void;
  /** Who may read a conversation now (user ids, me included). */
  readersOf(conversation: string): string[];
  isMember(userId: string): boolean;
  /** Largest key entry in bytes (frame limit). */
  maxEntryBytes?: number;
  log?: (message: string) => void;
}

export class KeyDistributor {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly answered = new Map<string, number>();
  private readonly asked = new Map<string, number>();

  constructor(private readonly ctx: DistributorContext) {}

  /**
   * Makes sure this device's chain for `conversation` at the current epoch is free to
   * send on next, and that every current reader was sent it.
   */
  ensure(conversation: string): Promise<void> {
    return this.serial(conversation, () =>
      this.give(conversation, this.ctx.readersOf(conversation), { force: false, every: false }),
    );
  }

  /** A newcomer: my identity's keys of the channels where it sent at this epoch. */
  welcome(userId: string): Promise<void> {
    const epoch = this.ctx.keys.epoch;
    const conversations = this.ctx.keys
      .conversations()
      .filter((c) => !c.startsWith('dm:') && this.ctx.keys.myChains(c, epoch).length > 0)
      .slice(0, MAX_HANDOVER_CONVERSATIONS);
    return Promise.all(
      conversations.map((c) => this.serial(c, () => this.give(c, [userId], { force: false, every: true }))),
    ).then(() => undefined);
  }

  /** Asks the senders of undecryptable messages for their keys (once a minute per conversation, epoch and sender). */
  async request(conversation: string, epoch: number, senders: string[]): Promise<void> {
    const now = Date.now();
    const fresh = senders.filter((s) => (this.asked.get(`${conversation} ${epoch} ${s}`) ?? 0) < now);
    if (fresh.length === 0) return;
    for (const s of fresh) this.asked.set(`${conversation} ${epoch} ${s}`, now + ASK_INTERVAL_MS);
    const note = await signNote(this.ctx.identity.signer, '', 'key.request', {
      log: conversation,
      epoch,
      senders: fresh.slice(0, 32),
    });
    this.ctx.publish(KEYS_TOPIC, note);
  }

  /** A note on the `keys` topic: answers a request for my key, if the asker may have it. */
  async onNote(data: unknown): Promise<void> {
    const note = verifyNote(data, '');
    if (note?.t !== 'key.request') return;
    const { log, epoch, senders } = note.fields;
    if (typeof log !== 'string' || typeof epoch !== 'number' || !Array.isArray(senders)) return;
    if (!senders.includes(this.ctx.keys.meId) || note.from === this.ctx.keys.meId) return;
    if (!this.ctx.isMember(note.from) || !this.ctx.readersOf(log).includes(note.from)) return;
    if (epoch !== this.ctx.keys.epoch || this.ctx.keys.myChains(log, epoch).length === 0) return;
    const now = Date.now();
    for (const [k, until] of this.answered) if (until < now) this.answered.delete(k);
    const slot = `${log} ${note.from}`;
    if (this.answered.has(slot) || this.answered.size >= MAX_ASKED) return;
    this.answered.set(slot, now + ASK_INTERVAL_MS);
    await this.serial(log, () => this.give(log, [note.from], { force: true, every: true }));
  }

  private serial(conversation: string, task: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(conversation) ?? Promise.resolve()).then(task, task);
    this.chains.set(conversation, next);
    return next;
  }

  /**
   * Seals my chains for `conversation` at the current epoch to those of `readers` who
   * may have them and did not get them yet (all of them when `force`): this device's
   * chain, claimed first, or with `every` each chain of my identity held here.
   */
  private async give(
    conversation: string,
    readers: string[],
    { force, every }: { force: boolean; every: boolean },
  ): Promise<void> {
    const { keys } = this.ctx;
    const epoch = keys.epoch;
    const chains = every ? keys.myChains(conversation, epoch) : [keys.claimSendingKey(conversation)];
    const allowed = new Set(this.ctx.readersOf(conversation));
    let sealed = false;
    for (const { from, distribution } of chains) {
      const given = keys.recipients(conversation, epoch, from);
      const to = readers.filter((id) => allowed.has(id) && (force || !given.has(id)));
      if (to.length === 0) continue;
      const entries = await sealKeyEntries(
        this.ctx.identity.signer,
        conversation,
        epoch,
        distribution,
        to.map(publicKeyOf),
        this.ctx.maxEntryBytes ?? MAX_KEY_ENTRY_BYTES,
      );
      for (const blob of entries) {
        this.ctx
          .enqueue('log.append', {
            log: conversation,
            kind: 'key',
            blob: toBase64url(blob),
            id: toBase64url(randomBytes(16)),
          })
          .catch((error: Error) => this.ctx.log?.(`key entry for ${conversation} refused: ${error.message}`));
      }
      for (const id of to) given.add(id);
      sealed = true;
    }
    if (sealed) keys.changed();
  }
}
