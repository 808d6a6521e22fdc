/**
 * Per-peer route and link quality, polled from `getStats()` on an interval only
 * while someone subscribes and a call is attached; the last subscriber leaving,
 * or the call ending, stops the timer.
 */
import type { Observable, Unsubscribe } from '../core/model.ts';
import { type PeerStats, summarizeStats } from './peer-stats.ts';
import type { VoicePeer } from './voice-mesh.ts';

export type StatsByPeer = Readonly<Record<string, PeerStats>>;

export const DEFAULT_STATS_INTERVAL_MS = 1000;

export class StatsPoller implements Observable<StatsByPeer> {
  private current: StatsByPeer = {};
  private readonly listeners = new Set<(value: StatsByPeer) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private peers: (() => readonly VoicePeer[]) | undefined;
  private inFlight = false;

  constructor(private readonly intervalMs = DEFAULT_STATS_INTERVAL_MS) {
    if (!(Number.isFinite(intervalMs) && intervalMs >= 50))
      throw new RangeError('StatsPoller: intervalMs must be ≥ 50');
  }

  get value(): StatsByPeer {
    return this.current;
  }

  /** Whether the timer runs (someone subscribes and a call is attached). */
  get polling(): boolean {
    return this.timer !== undefined;
  }

  subscribe(listener: (value: StatsByPeer) => void): Unsubscribe {
    this.listeners.add(listener);
    this.update();
    return () => {
      this.listeners.delete(listener);
      this.update();
    };
  }

  /** Starts serving a call's peers (polling if someone subscribes). */
  attach(peers: () => readonly VoicePeer[]): void {
    this.peers = peers;
    this.update();
  }

  /** Stops polling and forgets the call's figures. */
  detach(): void {
    this.peers = undefined;
    this.update();
    this.publish({});
  }

  /** One poll now, whoever listens; resolves with the new figures. */
  async poll(): Promise<StatsByPeer> {
    const peers = this.peers?.() ?? [];
    const previous = this.current;
    const entries = await Promise.all(
      peers
        .filter(({ connection }) => connection.connectionState !== 'closed')
        .map(async ({ peerId, connection }) => {
          try {
            return [peerId, summarizeStats(await connection.getStats(), previous[peerId])] as const;
          } catch (error) {
            // getStats rejects only on a connection closing in between; skip this peer once.
            console.debug('tincan voice: getStats failed', error);
            return undefined;
          }
        }),
    );
    if (!this.peers) return this.current; // detached while polling
    const next: Record<string, PeerStats> = {};
    for (const entry of entries) if (entry) next[entry[0]] = entry[1];
    this.publish(next);
    return next;
  }

  private update(): void {
    const wanted = this.peers !== undefined && this.listeners.size > 0;
    if (wanted && this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.tick();
    } else if (!wanted && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    this.poll()
      .catch((error: unknown) => console.warn('tincan voice: stats poll failed', error))
      .finally(() => {
        this.inFlight = false;
      });
  }

  private publish(value: StatsByPeer): void {
    this.current = value;
    for (const listener of [...this.listeners]) listener(value);
  }
}
