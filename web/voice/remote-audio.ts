/**
 * Playback of the peers' voices through one AudioContext:
 *
 *   remote track ─┬─ received probe (speaking indicator, tone checks)
 *                 └─ gain (volume 0–2 × local mute) ─ played probe ─┐
 *                                                 master (deafen) ─┴─ master probe ─ output
 *
 * Chromium gives Web Audio no samples from a remote WebRTC track unless the track
 * also plays in a media element, so each track plays, muted, in an <audio> element
 * as well. The output is the context's destination, on the device chosen with
 * `AudioContext.setSinkId`; where only `HTMLMediaElement.setSinkId` exists the
 * master is routed through a MediaStream into one unmuted element instead.
 */
import { AnalyserProbe } from './analyser-probe.ts';
import { mediaError, VoiceError } from './errors.ts';

/** Time constant of gain changes, s: quick, but without a click. */
const GAIN_SMOOTHING_S = 0.01;

interface PeerChain {
  readonly track: MediaStreamTrack;
  readonly element: HTMLAudioElement;
  readonly source: MediaStreamAudioSourceNode;
  readonly received: AnalyserProbe;
  readonly gain: GainNode;
  readonly played: AnalyserProbe;
}

interface SinkSettable {
  setSinkId(sinkId: string): Promise<void>;
}

const canSetSink = (target: object): target is SinkSettable =>
  'setSinkId' in target && typeof target.setSinkId === 'function';

function startMuted(element: HTMLAudioElement, stream: MediaStream): void {
  element.muted = true;
  element.autoplay = true;
  element.srcObject = stream;
  element.play().catch((error: unknown) => {
    // AbortError: the chain was removed before playback began; nothing to do.
    if (error instanceof Error && error.name === 'AbortError') return;
    // Autoplay refused: Web Audio gets no samples from this track until
    // `VoiceSession.resumePlayback()` runs from a user gesture.
    console.warn('tincan voice: a remote audio element did not start', error);
  });
}

export class RemoteAudio {
  private readonly master: GainNode;
  private readonly masterProbe: AnalyserProbe;
  private readonly chains = new Map<string, PeerChain>();
  /** The unmuted element carrying the whole mix, when the sink is set through an element. */
  private outputElement: HTMLAudioElement | undefined;
  private deafened = false;

  constructor(private readonly context: AudioContext) {
    this.master = context.createGain();
    this.masterProbe = new AnalyserProbe(context);
    this.master.connect(this.masterProbe.node);
    this.master.connect(context.destination);
  }

  peers(): string[] {
    return [...this.chains.keys()];
  }

  has(peerId: string): boolean {
    return this.chains.has(peerId);
  }

  /** Plays `track` as `peerId`'s voice (replacing what played for that peer), at `gain`. */
  add(peerId: string, track: MediaStreamTrack, gain: number): void {
    this.remove(peerId);
    const stream = new MediaStream([track]);
    const element = new Audio();
    startMuted(element, stream);
    const source = this.context.createMediaStreamSource(stream);
    const received = new AnalyserProbe(this.context);
    const gainNode = this.context.createGain();
    gainNode.gain.value = gain;
    const played = new AnalyserProbe(this.context);
    source.connect(received.node);
    source.connect(gainNode);
    gainNode.connect(played.node);
    gainNode.connect(this.master);
    this.chains.set(peerId, { track, element, source, received, gain: gainNode, played });
  }

  remove(peerId: string): void {
    const chain = this.chains.get(peerId);
    if (!chain) return;
    this.chains.delete(peerId);
    chain.source.disconnect();
    chain.gain.disconnect();
    chain.received.disconnect();
    chain.played.disconnect();
    chain.element.pause();
    chain.element.srcObject = null;
  }

  /** The playing track of `peerId`, if any. */
  track(peerId: string): MediaStreamTrack | undefined {
    return this.chains.get(peerId)?.track;
  }

  setGain(peerId: string, gain: number): void {
    const chain = this.chains.get(peerId);
    chain?.gain.gain.setTargetAtTime(gain, this.context.currentTime, GAIN_SMOOTHING_S);
  }

  setDeafened(deafened: boolean): void {
    this.deafened = deafened;
    this.master.gain.setTargetAtTime(deafened ? 0 : 1, this.context.currentTime, GAIN_SMOOTHING_S);
  }

  get isDeafened(): boolean {
    return this.deafened;
  }

  /** What arrives from the peer, before volume, mute and deafen. */
  received(peerId: string): AnalyserProbe | undefined {
    return this.chains.get(peerId)?.received;
  }

  /** What is played: one peer after its volume and local mute, or (no id) the whole output after deafen. */
  played(peerId?: string): AnalyserProbe | undefined {
    if (peerId === undefined) return this.masterProbe;
    return this.chains.get(peerId)?.played;
  }

  /** Retries media elements that autoplay refused (call from a user gesture). */
  resumeElements(): void {
    for (const { element } of this.chains.values())
      if (element.paused)
        element.play().catch(() => undefined /* still refused: stays silent, reported once */);
    if (this.outputElement?.paused) this.outputElement.play().catch(() => undefined);
  }

  /** Plays through the output device `deviceId` ('' is the default device). */
  async setSinkId(deviceId: string): Promise<void> {
    try {
      if (canSetSink(this.context)) {
        await this.context.setSinkId(deviceId);
        return;
      }
      const element = this.outputElement ?? this.routeThroughElement();
      if (!canSetSink(element))
        throw new VoiceError('NOT_SUPPORTED', 'this browser cannot choose the output device');
      await element.setSinkId(deviceId);
    } catch (error) {
      throw mediaError(error, 'output');
    }
  }

  close(): void {
    for (const peerId of [...this.chains.keys()]) this.remove(peerId);
    this.master.disconnect();
    this.masterProbe.disconnect();
    if (this.outputElement) {
      this.outputElement.pause();
      this.outputElement.srcObject = null;
    }
  }

  private routeThroughElement(): HTMLAudioElement {
    const destination = this.context.createMediaStreamDestination();
    this.master.disconnect(this.context.destination);
    this.master.connect(destination);
    const element = new Audio();
    element.srcObject = destination.stream;
    element
      .play()
      .catch((error: unknown) => console.warn('tincan voice: the output element did not start', error));
    this.outputElement = element;
    return element;
  }
}
