/**
 * The peers' voices as the UI sees them: who is heard (participants), who speaks
 * (per peer, from the level that arrives, with the speaking detector's hold), and
 * the listener's per-user preferences (volume 0–2, local mute), applied as gains
 * on the current call's playback graph. Preferences outlive calls; the rest is
 * cleared when a call ends.
 */
import { Value } from '../core/observable.ts';
import { sameRecord } from './equal.ts';
import { VoiceError } from './errors.ts';
import { levelFromRms } from './level.ts';
import type { DirectFeed, RemoteAudio } from './remote-audio.ts';
import { SpeakingDetector, type SpeakingOptions } from './speaking.ts';
import type { VoicePeer } from './voice-mesh.ts';

/** Per-user volume range: 0 (silent) to 2 (200%). */
export const MAX_VOLUME = 2;

/** A peer whose voice plays, and the way it comes: straight from the peer, or through the relay. */
export interface VoiceParticipant {
  readonly peerId: string;
  readonly userId: string;
  readonly via: 'mesh' | 'relay';
}

/** Who a voice is from. */
type Speaker = Pick<VoicePeer, 'peerId' | 'userId'>;

interface Voice {
  readonly peer: Speaker;
  readonly track: MediaStreamTrack | undefined;
  readonly via: 'mesh' | 'relay';
  readonly detector: SpeakingDetector;
}

export class RemoteVoices {
  /** The peers whose voice plays, in arrival order. */
  readonly participants = new Value<readonly VoiceParticipant[]>([]);
  /** Per peer id: speech in what the peer sends. */
  readonly speaking = new Value<Readonly<Record<string, boolean>>>({});
  /** Per user id: 0–2 (absent: 1). A preference, so by user rather than by page. */
  readonly volumes = new Value<Readonly<Record<string, number>>>({});
  /** Per user id: muted for this listener only. */
  readonly localMutes = new Value<Readonly<Record<string, boolean>>>({});

  private readonly voices = new Map<string, Voice>();
  private serverMuted = new Set<string>();
  private playback: RemoteAudio | undefined;
  private signal: AbortSignal | undefined;

  constructor(private options: SpeakingOptions) {}

  /** Plays voices on `playback` until `signal` aborts (the call ends). */
  attach(playback: RemoteAudio, signal: AbortSignal): void {
    this.detach();
    this.playback = playback;
    this.signal = signal;
    signal.addEventListener(
      'abort',
      () => {
        if (this.signal === signal) this.detach();
      },
      { once: true },
    );
  }

  /** Plays `track` as `peer`'s voice until it is removed from `stream` or ends. */
  add(peer: VoicePeer, track: MediaStreamTrack, stream: MediaStream): void {
    const { playback, signal } = this;
    if (!playback || !signal || signal.aborted) return;
    this.voices.set(peer.peerId, { peer, track, via: 'mesh', detector: new SpeakingDetector(this.options) });
    playback.add(peer.peerId, track, this.gainOf(peer.peerId));
    const gone = () => {
      if (this.voices.get(peer.peerId)?.track === track) this.remove(peer.peerId);
    };
    track.addEventListener('ended', gone, { signal });
    stream.addEventListener('removetrack', (event) => event.track === track && gone(), { signal });
    this.publish();
  }

  /**
   * Plays `node` (a voice decoded from relay frames) as `peer`'s voice until removed;
   * where the output can play it from its packets, returns where to write them.
   */
  addNode(peer: Speaker, node: AudioNode): DirectFeed | undefined {
    const { playback, signal } = this;
    if (!playback || !signal || signal.aborted) return undefined;
    this.voices.set(peer.peerId, {
      peer,
      track: undefined,
      via: 'relay',
      detector: new SpeakingDetector(this.options),
    });
    const feed = playback.addNode(peer.peerId, node, this.gainOf(peer.peerId));
    this.applyGains(peer.userId);
    this.publish();
    return feed;
  }

  remove(peerId: string): void {
    const voice = this.voices.get(peerId);
    if (!voice) return;
    this.voices.delete(peerId);
    this.playback?.remove(peerId);
    this.applyGains(voice.peer.userId);
    this.publish();
  }

  setVolume(userId: string, volume: number): void {
    if (!(Number.isFinite(volume) && volume >= 0 && volume <= MAX_VOLUME))
      throw VoiceError.badArgument('volume', `must be in 0…${MAX_VOLUME}`);
    this.volumes.set({ ...this.volumes.value, [userId]: volume }, sameRecord);
    this.applyGains(userId);
  }

  setLocalMute(userId: string, muted: boolean): void {
    const next = { ...this.localMutes.value };
    if (muted) next[userId] = true;
    else delete next[userId];
    this.localMutes.set(next, sameRecord);
    this.applyGains(userId);
  }

  /** New speaking threshold and hold (validated by the caller). */
  configure(options: SpeakingOptions): void {
    this.options = options;
    for (const { detector } of this.voices.values()) detector.configure(options);
  }

  /** Reads each voice's level and updates `speaking` (the session's meter tick). */
  tick(now: number): void {
    const speaking: Record<string, boolean> = {};
    for (const [peerId, { detector }] of this.voices) {
      const probe = this.playback?.received(peerId);
      speaking[peerId] = probe !== undefined && detector.update(levelFromRms(probe.rms()), now);
    }
    this.speaking.set(speaking, sameRecord);
  }

  private detach(): void {
    this.voices.clear();
    this.playback = undefined;
    this.signal = undefined;
    this.publish();
  }

  /**
   * The members the server has muted: played at 0 whatever the volume, so a client
   * that ignores its own server mute is still not heard here (presence tells who).
   */
  setServerMuted(userIds: readonly string[]): void {
    const next = new Set(userIds);
    const changed = [...new Set([...this.serverMuted, ...next])].filter(
      (u) => this.serverMuted.has(u) !== next.has(u),
    );
    this.serverMuted = next;
    for (const userId of changed) this.applyGains(userId);
  }

  /** A voice's gain: the user's volume, 0 when muted; a direct voice of a user also heard through the relay is silent. */
  private gainOf(peerId: string): number {
    const voice = this.voices.get(peerId);
    if (!voice) return 0;
    const { userId } = voice.peer;
    if (this.localMutes.value[userId] || this.serverMuted.has(userId)) return 0;
    if (voice.via === 'mesh' && this.relayed(userId)) return 0;
    return this.volumes.value[userId] ?? 1;
  }

  private relayed(userId: string): boolean {
    for (const v of this.voices.values()) if (v.via === 'relay' && v.peer.userId === userId) return true;
    return false;
  }

  private applyGains(userId: string): void {
    for (const { peer } of this.voices.values())
      if (peer.userId === userId) this.playback?.setGain(peer.peerId, this.gainOf(peer.peerId));
  }

  /**
   * A user heard through the relay is listed once, by the relay voice: while a call
   * moves to the relay the peer's direct track lingers, silent, until the mesh is left.
   */
  private publish(): void {
    const relayed = new Set(
      [...this.voices.values()].filter((v) => v.via === 'relay').map((v) => v.peer.userId),
    );
    this.participants.set(
      [...this.voices.values()]
        .filter((v) => v.via === 'relay' || !relayed.has(v.peer.userId))
        .map(({ peer: { peerId, userId }, via }) => ({ peerId, userId, via })),
    );
    const speaking = { ...this.speaking.value };
    for (const id of Object.keys(speaking)) if (!this.voices.has(id)) delete speaking[id];
    this.speaking.set(speaking, sameRecord);
  }
}
