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
 *
 * Voices decoded in the page (the relay path) are added as audio nodes, and once
 * any is, the master leaves the context's destination for a loopback
 * RTCPeerConnection into an <audio> element (relay/playback.ts): the one output
 * Chrome's echo canceller hears. Where the browser can (relay/direct-output.ts), a
 * relay voice plays from its own Opus packets written into a loopback of its own
 * instead, which skips a decode, a re-encode and a jitter buffer: its decoded node
 * then feeds only the probes, unless its volume is above 100 % (a media element
 * plays at most 100 %), when it plays through the master as before.
 */
import { AnalyserProbe } from './analyser-probe.ts';
import { mediaError, VoiceError } from './errors.ts';
import { canPlayDirect, DirectOutput, type DirectVoice } from './relay/direct-output.ts';
import { LoopbackOutput } from './relay/playback.ts';

/** Time constant of gain changes, s: quick, but without a click. */
const GAIN_SMOOTHING_S = 0.01;

interface PeerChain {
  readonly track: MediaStreamTrack | undefined;
  readonly element: HTMLAudioElement | undefined;
  readonly source: AudioNode;
  readonly received: AnalyserProbe;
  readonly gain: GainNode;
  readonly played: AnalyserProbe;
  /** Into the master: 0 while the voice plays directly. */
  readonly toMaster: GainNode;
  gainValue: number;
  direct: DirectVoice | undefined;
}

/** One relay sender's direct playback, as its route sees it. */
export interface DirectFeed {
  /** Writes the sender's opened Opus packet `counter` under `keyId`. */
  write(keyId: number, counter: number, opus: Uint8Array): void;
  /** WebRTC's jitter buffer delay for this voice, ms, while it plays directly (else null). */
  bufferMs(): number | null;
}

interface SinkSettable {
  setSinkId(sinkId: string): Promise<void>;
}

const canSetSink = (target: object): target is SinkSettable =>
  'setSinkId' in target && typeof target.setSinkId === 'function';

async function sinkOf(element: HTMLAudioElement, deviceId: string): Promise<void> {
  if (!canSetSink(element))
    throw new VoiceError('NOT_SUPPORTED', 'this browser cannot choose the output device');
  await element.setSinkId(deviceId).catch((error: unknown) => {
    throw mediaError(error, 'output');
  });
}

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
  private loopback: Promise<LoopbackOutput> | undefined;
  private loopbackOutput: LoopbackOutput | undefined;
  private direct: DirectOutput | undefined;
  private sinkId = '';
  private deafened = false;
  private closed = false;

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
    this.chain(peerId, this.context.createMediaStreamSource(stream), gain, track, element);
  }

  /**
   * Plays `source` (a voice decoded in the page) as `peerId`'s voice, at `gain`. Once
   * the output plays through the loopback, and the browser can, the voice plays from
   * its packets instead: write each to the feed returned.
   */
  addNode(peerId: string, source: AudioNode, gain: number): DirectFeed | undefined {
    this.remove(peerId);
    const chain = this.chain(peerId, source, gain, undefined, undefined);
    const direct = this.direct;
    if (!direct) return undefined;
    let voice: DirectVoice | undefined;
    direct
      .add(peerId)
      .then((v) => {
        if (this.chains.get(peerId) !== chain) return;
        voice = v;
        chain.direct = v;
        this.route(chain);
      })
      .catch((error: unknown) =>
        console.warn('tincan relay voice: direct output failed; decoded instead', error),
      );
    return {
      write: (keyId, counter, opus) => voice?.write(keyId, counter, opus),
      bufferMs: () => (voice && chain.gainValue <= 1 ? voice.bufferMs : null),
    };
  }

  /**
   * Moves the output to the loopback connection (idempotent). Resolves once it plays;
   * until then the master stays on the destination, so nothing goes unheard.
   */
  playThroughLoopback(): Promise<LoopbackOutput> {
    this.loopback ??= LoopbackOutput.open(this.context).then(async (output) => {
      if (this.closed) {
        output.close();
        throw new VoiceError('ABORTED', 'the call ended while its output opened');
      }
      if (this.sinkId !== '') await sinkOf(output.element, this.sinkId);
      if (this.outputElement) this.master.disconnect();
      else this.master.disconnect(this.context.destination);
      this.master.connect(this.masterProbe.node);
      this.master.connect(output.input);
      this.loopbackOutput = output;
      if (canPlayDirect()) this.direct ??= new DirectOutput(this.context);
      return output;
    });
    return this.loopback;
  }

  /** The loopback output, once the master plays through it. */
  get output(): LoopbackOutput | undefined {
    return this.loopbackOutput;
  }

  private chain(
    peerId: string,
    source: AudioNode,
    gain: number,
    track: MediaStreamTrack | undefined,
    element: HTMLAudioElement | undefined,
  ): PeerChain {
    const received = new AnalyserProbe(this.context);
    const gainNode = this.context.createGain();
    gainNode.gain.value = gain;
    const played = new AnalyserProbe(this.context);
    const toMaster = this.context.createGain();
    source.connect(received.node);
    source.connect(gainNode);
    gainNode.connect(played.node);
    gainNode.connect(toMaster);
    toMaster.connect(this.master);
    const chain: PeerChain = {
      track,
      element,
      source,
      received,
      gain: gainNode,
      played,
      toMaster,
      gainValue: gain,
      direct: undefined,
    };
    this.chains.set(peerId, chain);
    return chain;
  }

  /** A voice with direct playback plays from it up to 100 %, through the master above. */
  private route(chain: PeerChain): void {
    const direct = chain.direct;
    if (!direct) return;
    const useDirect = chain.gainValue <= 1;
    direct.volume = chain.gainValue;
    direct.muted = !useDirect || this.deafened;
    chain.toMaster.gain.setTargetAtTime(useDirect ? 0 : 1, this.context.currentTime, GAIN_SMOOTHING_S);
  }

  /** What the ear hears of `peerId` when it is a relay voice: its direct track, or the loopback's. */
  earTrack(peerId: string): MediaStreamTrack | undefined {
    const chain = this.chains.get(peerId);
    if (chain?.direct && chain.gainValue <= 1) return chain.direct.track;
    return this.loopbackOutput?.track;
  }

  remove(peerId: string): void {
    const chain = this.chains.get(peerId);
    if (!chain) return;
    this.chains.delete(peerId);
    chain.source.disconnect();
    chain.gain.disconnect();
    chain.toMaster.disconnect();
    if (chain.direct) this.direct?.remove(peerId);
    chain.received.disconnect();
    chain.played.disconnect();
    if (chain.element) {
      chain.element.pause();
      chain.element.srcObject = null;
    }
  }

  /** The playing track of `peerId`, if any. */
  track(peerId: string): MediaStreamTrack | undefined {
    return this.chains.get(peerId)?.track;
  }

  setGain(peerId: string, gain: number): void {
    const chain = this.chains.get(peerId);
    if (!chain) return;
    chain.gain.gain.setTargetAtTime(gain, this.context.currentTime, GAIN_SMOOTHING_S);
    chain.gainValue = gain;
    this.route(chain);
  }

  setDeafened(deafened: boolean): void {
    this.deafened = deafened;
    this.master.gain.setTargetAtTime(deafened ? 0 : 1, this.context.currentTime, GAIN_SMOOTHING_S);
    for (const chain of this.chains.values()) this.route(chain);
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
      if (element?.paused)
        element.play().catch(() => undefined /* still refused: stays silent, reported once */);
    if (this.outputElement?.paused) this.outputElement.play().catch(() => undefined);
    if (this.loopbackOutput?.element.paused) this.loopbackOutput.resume().catch(() => undefined);
    this.direct?.resume();
  }

  /** Plays through the output device `deviceId` ('' is the default device). */
  async setSinkId(deviceId: string): Promise<void> {
    this.sinkId = deviceId;
    if (this.loopbackOutput) {
      await this.direct?.setSinkId(deviceId).catch((error: unknown) => {
        throw mediaError(error, 'output');
      });
      return sinkOf(this.loopbackOutput.element, deviceId);
    }
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
    this.closed = true;
    this.loopbackOutput?.close();
    this.direct?.close();
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
