/**
 * The browser voice engine for one voice channel: `join(mesh)` captures the mic and
 * sends it to every verified peer of the channel's mesh (and to peers who join
 * later), plays each peer's voice at its own volume, and keeps the state the UI
 * renders in observable values. `leave()` removes every track from the peers and
 * stops it, so the microphone is released.
 *
 * The parts, one concept each: microphone.ts (capture, processing, device),
 * send-mix.ts (mic meter and the mic + file mix), transmit.ts (when packets
 * leave), track-senders.ts (one track on every peer's connection), remote-audio.ts
 * (playback graph, deafen, output device), remote-voices.ts (participants, their
 * speaking indicators, per-user volume and local mute), speaking.ts (indicators
 * and voice activity), audio-file-player.ts, local-video.ts / remote-video.ts (screen and
 * camera), stats-poller.ts (route and link quality). This file only wires them.
 *
 * Preferences (mute, deafen, input mode, volumes, devices, processing, bitrate)
 * outlive a call: set them before `join()` or during it.
 */
import type { Observable } from '../core/model.ts';
import { Value } from '../core/observable.ts';
import type { AnalyserProbe } from './analyser-probe.ts';
import {
  AudioFilePlayer,
  checkFileVolume,
  decodeAudioFile,
  type FileStatus,
  IDLE_FILE,
} from './audio-file-player.ts';
import { CaptureLevels } from './capture-levels.ts';
import { VoiceError } from './errors.ts';
import { levelFromRms } from './level.ts';
import { type CameraOptions, LocalVideo } from './local-video.ts';
import { type AudioProcessing, DEFAULT_PROCESSING, Microphone } from './microphone.ts';
import type { FrameSecrets } from './relay/frame-keys.ts';
import { type RelayLink, type RelayPeerStats, RelayRoute, type RelayRouteStats } from './relay-route.ts';
import { RemoteAudio } from './remote-audio.ts';
import { RemoteVideo, type VideoKind, type VideoTile } from './remote-video.ts';
import { RemoteVoices, type VoiceParticipant } from './remote-voices.ts';
import { SendMix } from './send-mix.ts';
import { DEFAULT_SPEAKING, SpeakingDetector, type SpeakingOptions } from './speaking.ts';
import { DEFAULT_STATS_INTERVAL_MS, StatsPoller } from './stats-poller.ts';
import { TrackSenders } from './track-senders.ts';
import {
  decideTransmit,
  type FileMixMode,
  INPUT_MODES,
  type InputMode,
  type TransmitDecision,
} from './transmit.ts';
import { type JsonValue, mediaKindOf, mediaLabel, type VoiceMesh, type VoicePeer } from './voice-mesh.ts';

export { MAX_VOLUME, type VoiceParticipant } from './remote-voices.ts';
/** Opus accepts 6–510 kbit/s. */
export const MIN_BITRATE = 6_000;
export const MAX_BITRATE = 510_000;
const DEFAULT_METER_INTERVAL_MS = 20;

export interface VoiceSessionOptions {
  /** `audioinput` deviceId; absent: the default input. */
  inputDeviceId?: string;
  /** `audiooutput` deviceId; '' or absent: the default output. */
  outputDeviceId?: string;
  /** Browser audio processing; each on unless set false. */
  processing?: Partial<AudioProcessing>;
  /** Default 'voice-activity'. */
  inputMode?: InputMode;
  /** Opus bitrate cap in bits/s, from the channel's setting. Default: the browser's choice. */
  maxBitrate?: number;
  /** Voice-activity threshold (level 0–1) and hold; also used for the peers' indicators. */
  speaking?: Partial<SpeakingOptions>;
  /** getStats() interval while someone observes `stats`. Default 1000 ms. */
  statsIntervalMs?: number;
  /** Level meter and speaking tick (voice activity reads each captured chunk instead where the browser can: capture-levels.ts). Default 20 ms. */
  meterIntervalMs?: number;
}

export interface PlayFileOptions {
  /** With the mic ('mix', default) or instead of it ('replace'). */
  mode?: FileMixMode;
  /** 0–2; default the last one set (1). */
  volume?: number;
  loop?: boolean;
}

/** The relay a call's voice goes through (VoiceSession.useRelay). */
export interface RelayUse {
  readonly link: RelayLink;
  /** The channel's frame secrets (KeyManager.frameSecret). */
  readonly secrets: FrameSecrets;
  /** My user id (my frames are sealed under my key). */
  readonly userId: string;
}

/** Everything one join() holds; dropped whole by leave(). */
interface Call {
  readonly mesh: VoiceMesh;
  readonly context: AudioContext;
  readonly playback: RemoteAudio;
  readonly abort: AbortController;
  readonly unsubscribe: (() => void)[];
  readonly localDetector: SpeakingDetector;
  mic?: Microphone;
  micTrack?: MediaStreamTrack;
  /**
   * What the senders carry when they carry the mic: a clone of `micTrack`, enabled
   * while the mic's gate is open (a disabled track sends silence). The clone leaves
   * the mic itself running for the level meter and the voice-activity detector.
   */
  sendTrack?: MediaStreamTrack;
  /** Feeds the voice-activity detector chunk by chunk where the browser can; else the meter tick does. */
  levels?: CaptureLevels;
  mix?: SendMix;
  voice?: TrackSenders;
  relay?: RelayRoute;
  /** On the relay, still send to mesh peers too (while a call moves between routes). */
  meshAlongside?: boolean;
  player?: AudioFilePlayer;
  timer?: ReturnType<typeof setInterval>;
  voiceActive: boolean;
  decision?: TransmitDecision;
  /** The route `decision` was applied on. */
  decidedFor?: RelayRoute | 'mesh';
  video: Partial<Record<VideoKind, LocalVideo>>;
  videoStarting: Partial<Record<VideoKind, Promise<MediaStream>>>;
  tornDown: boolean;
}

/** A clone of the mic for the senders, its gate (`enabled`) shut unless `open`. */
function gatedClone(track: MediaStreamTrack, open = false): MediaStreamTrack {
  const clone = track.clone();
  clone.enabled = open;
  return clone;
}

const sameProcessing = (a: AudioProcessing, b: AudioProcessing): boolean =>
  a.echoCancellation === b.echoCancellation &&
  a.noiseSuppression === b.noiseSuppression &&
  a.autoGainControl === b.autoGainControl;

function checkBitrate(bps: number | undefined): void {
  if (bps === undefined) return;
  if (!(Number.isInteger(bps) && bps >= MIN_BITRATE && bps <= MAX_BITRATE))
    throw VoiceError.badArgument('maxBitrate', `must be an integer in ${MIN_BITRATE}…${MAX_BITRATE} bits/s`);
}

function checkInputMode(mode: InputMode): void {
  if (!INPUT_MODES.includes(mode)) throw VoiceError.badArgument('inputMode', `must be one of ${INPUT_MODES}`);
}

export class VoiceSession {
  /** In a call: the mic is open and peers get our track. */
  readonly joined = new Value(false);
  readonly muted = new Value(false);
  /** Nothing plays; also stops transmitting (as in Mumble and Discord). */
  readonly deafened = new Value(false);
  readonly inputMode: Value<InputMode>;
  /** The push-to-talk key is held (see `pressed`). */
  readonly pushToTalkHeld = new Value(false);
  /** Peers hear me now: the mic's gate is open, or a file plays (voice activity sends silence between words). */
  readonly transmitting = new Value(false);
  /** The local mic level 0–1 (before any gate), for the meter. */
  readonly level = new Value(0);
  /** We are heard speaking (transmitting with speech on the mic, or a file playing). */
  readonly localSpeaking = new Value(false);
  /** Per peer id: speech in what the peer sends. */
  readonly speaking: Observable<Readonly<Record<string, boolean>>>;
  /** The peers whose voice plays, in arrival order. */
  readonly participants: Observable<readonly VoiceParticipant[]>;
  /** Per user id: 0–2 (absent: 1). A preference, so by user rather than by page. */
  readonly volumes: Observable<Readonly<Record<string, number>>>;
  /** Per user id: muted for us only. */
  readonly localMutes: Observable<Readonly<Record<string, boolean>>>;
  readonly processing: Value<AudioProcessing>;
  readonly inputDevice: Value<string | undefined>;
  readonly outputDevice: Value<string>;
  readonly maxBitrate: Value<number | undefined>;
  /** Per peer id: route, rtt, loss, jitter; polled only while subscribed. */
  readonly stats: StatsPoller;
  /** The peers' screens and cameras. */
  readonly tiles: Observable<readonly VideoTile[]>;
  /** Our own shared screen and camera (for a preview), null when off. */
  readonly screen = new Value<MediaStream | null>(null);
  readonly camera = new Value<MediaStream | null>(null);
  /** The file playing into the channel. */
  readonly file = new Value<FileStatus>(IDLE_FILE);
  readonly fileMode = new Value<FileMixMode>('mix');
  /** Trouble after join (the mic unplugged, the saved output device gone); null when none. */
  readonly error = new Value<VoiceError | null>(null);
  /** How my voice leaves and others' arrive: straight to and from peers, or through the relay. */
  readonly route = new Value<'mesh' | 'relay'>('mesh');

  private call: Call | undefined;
  private readonly remoteVideo = new RemoteVideo();
  private readonly voices: RemoteVoices;
  private speakingOptions: SpeakingOptions;
  private readonly meterIntervalMs: number;

  constructor(options: VoiceSessionOptions = {}) {
    const mode = options.inputMode ?? 'voice-activity';
    checkInputMode(mode);
    checkBitrate(options.maxBitrate);
    this.inputMode = new Value(mode);
    this.processing = new Value({ ...DEFAULT_PROCESSING, ...options.processing });
    this.inputDevice = new Value(options.inputDeviceId);
    this.outputDevice = new Value(options.outputDeviceId ?? '');
    this.maxBitrate = new Value(options.maxBitrate);
    this.speakingOptions = { ...DEFAULT_SPEAKING, ...options.speaking };
    new SpeakingDetector(this.speakingOptions); // validates
    this.voices = new RemoteVoices(this.speakingOptions);
    this.speaking = this.voices.speaking;
    this.participants = this.voices.participants;
    this.volumes = this.voices.volumes;
    this.localMutes = this.voices.localMutes;
    this.stats = new StatsPoller(options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS);
    this.tiles = this.remoteVideo.tiles;
    this.meterIntervalMs = options.meterIntervalMs ?? DEFAULT_METER_INTERVAL_MS;
  }

  /**
   * Joins the call on `mesh` (the voice channel's mesh). Call it from the click that
   * joins, so the AudioContext may start. Rejects with MIC_DENIED, NO_DEVICE,
   * DEVICE_BUSY, NOT_SUPPORTED, ALREADY_JOINED, or ABORTED (leave() ran meanwhile).
   */
  async join(mesh: VoiceMesh): Promise<void> {
    if (this.call) throw new VoiceError('ALREADY_JOINED', 'this session is already in a call');
    const context = new AudioContext({ latencyHint: 'interactive' });
    const call: Call = {
      mesh,
      context,
      playback: new RemoteAudio(context),
      abort: new AbortController(),
      unsubscribe: [],
      localDetector: new SpeakingDetector(this.speakingOptions),
      voiceActive: false,
      video: {},
      videoStarting: {},
      tornDown: false,
    };
    this.call = call;
    this.error.set(null);
    this.voices.attach(call.playback, call.abort.signal);
    call.playback.setDeafened(this.deafened.value);
    // Listen before the first await: tracks may arrive while the mic opens.
    call.unsubscribe.push(
      mesh.onPeerTrack((track, stream, peer, metadata) => this.onTrack(call, track, stream, peer, metadata)),
      mesh.onPeerJoin((peer) => this.onPeerJoin(call, peer)),
      mesh.onPeerLeave((peer) => this.onPeerLeave(call, peer.peerId)),
    );
    this.watchAutoplay(call);
    try {
      await this.applyOutputDevice(call);
      const mic = await Microphone.open(
        { deviceId: this.inputDevice.value, processing: this.processing.value },
        () => this.onMicEnded(call),
      );
      if (this.call !== call) {
        mic.stop();
        throw new VoiceError('ABORTED', 'left the call while the microphone opened');
      }
      call.mic = mic;
      call.micTrack = mic.track;
      call.sendTrack = gatedClone(mic.track);
      call.mix = new SendMix(context, mic.track);
      this.listenToCapture(call, mic.track);
      call.player = new AudioFilePlayer(context, call.mix.fileInput, this.file);
      const sendTrack = call.sendTrack;
      call.voice = new TrackSenders(mesh, sendTrack, new MediaStream([sendTrack]), mediaLabel('voice'), {
        open: false,
        maxBitrate: this.maxBitrate.value,
      });
      call.unsubscribe.push(this.file.subscribe(() => this.applyTransmit(call)));
      this.applyTransmit(call);
      for (const peer of mesh.peers()) this.onPeerJoin(call, peer);
      this.stats.attach(() => mesh.peers());
      call.timer = setInterval(() => this.tick(call), this.meterIntervalMs);
      this.joined.set(true);
    } catch (error) {
      if (this.call === call) this.call = undefined;
      await this.teardown(call);
      throw error;
    }
  }

  /** Leaves the call: tracks are removed from every peer and stopped (the mic is released). */
  async leave(): Promise<void> {
    const call = this.call;
    if (!call) return;
    this.call = undefined;
    await this.teardown(call);
  }

  /**
   * Moves the call's voice to the relay (`use`) or back to the mesh (null). Frames
   * leave through the relay as soon as the output is ready; the mesh stops carrying
   * my voice at the same moment unless `meshAlongside` (peers who have not moved yet
   * keep hearing me; a listener plays a user heard on both routes from the relay
   * only). Voices heard through the relay play through the echo-cancelled loopback
   * output. Rejects with NOT_JOINED, or ABORTED when the call ended meanwhile.
   */
  async useRelay(use: RelayUse | null, options: { meshAlongside?: boolean } = {}): Promise<void> {
    const call = this.requireCall('useRelay');
    if (!use) {
      call.relay?.close();
      call.relay = undefined;
      this.route.set('mesh');
      this.applyTransmit(call);
      return;
    }
    await call.playback.playThroughLoopback();
    if (this.call !== call) throw new VoiceError('ABORTED', 'left the call while the relay output opened');
    call.relay?.close();
    call.relay = new RelayRoute(call.context, use.link, use.secrets, use.userId, this.voices, {
      ...(this.maxBitrate.value === undefined ? {} : { bitrate: this.maxBitrate.value }),
    });
    call.relay.setDeafened(this.deafened.value);
    call.meshAlongside = options.meshAlongside === true;
    this.route.set('relay');
    this.applyTransmit(call);
  }

  /** On the relay: stop (false) or keep sending to mesh peers as well. */
  setMeshAlongside(on: boolean): void {
    const call = this.call;
    if (!call || call.meshAlongside === on) return;
    call.meshAlongside = on;
    call.decidedFor = undefined;
    this.applyTransmit(call);
  }

  /** How a relay voice (`relay:<slot>`) reaches me, for the route indicator. */
  relayPeerStats(peerId: string): RelayPeerStats | undefined {
    return this.call?.relay?.linkStats(peerId);
  }

  /** The relay route's counters (undefined on the mesh). */
  relayStats(): RelayRouteStats | undefined {
    return this.call?.relay?.stats();
  }

  /** Keys changed (a new epoch): relay frames are sealed with the new key. */
  keysChanged(): void {
    this.call?.relay?.keysChanged();
  }

  /** The echo-cancelled output (a loopback RTCPeerConnection into <audio>), once the relay route opened it. */
  get loopbackOutput() {
    return this.call?.playback.output;
  }

  /** What the ear gets of a relay voice: its direct track (relay/direct-output.ts), or the loopback's. */
  earTrack(peerId: string): MediaStreamTrack | undefined {
    return this.call?.playback.earTrack(peerId);
  }

  setMuted(muted: boolean): void {
    this.muted.set(muted);
    if (this.call) this.applyTransmit(this.call);
  }

  setDeafened(deafened: boolean): void {
    this.deafened.set(deafened);
    this.call?.playback.setDeafened(deafened);
    this.call?.relay?.setDeafened(deafened);
    if (this.call) this.applyTransmit(this.call);
  }

  setInputMode(mode: InputMode): void {
    checkInputMode(mode);
    this.inputMode.set(mode);
    if (this.call) this.applyTransmit(this.call);
  }

  /**
   * The push-to-talk key went down (true) or up (false). The UI calls it on keydown
   * and keyup, and with false on blur: browsers give keys only to the focused page.
   */
  pressed(down: boolean): void {
    this.pushToTalkHeld.set(down);
    if (this.call) this.applyTransmit(this.call);
  }

  /** Voice-activity threshold and hold (also used for the peers' speaking indicators). */
  configureSpeaking(options: Partial<SpeakingOptions>): void {
    const next = { ...this.speakingOptions, ...options };
    new SpeakingDetector(next); // validates
    this.speakingOptions = next;
    this.voices.configure(next);
    this.call?.localDetector.configure(next);
  }

  /** One user's volume, 0–2 (1 is as sent). */
  setVolume(userId: string, volume: number): void {
    this.voices.setVolume(userId, volume);
  }

  /** Mutes one user for us only. */
  setLocalMute(userId: string, muted: boolean): void {
    this.voices.setLocalMute(userId, muted);
  }

  /** Members the server has muted: never played here, whatever their client sends. */
  setServerMuted(userIds: readonly string[]): void {
    this.voices.setServerMuted(userIds);
  }

  /** Turns echo cancellation, noise suppression or auto gain on or off (the mic may be captured again). */
  async setProcessing(change: Partial<AudioProcessing>): Promise<void> {
    const next = { ...this.processing.value, ...change };
    for (const [key, value] of Object.entries(next))
      if (typeof value !== 'boolean') throw VoiceError.badArgument(`processing.${key}`, 'must be a boolean');
    const call = this.call;
    if (call?.mic) await call.mic.setProcessing(next, (track) => this.adoptMic(call, track));
    this.processing.set(next, sameProcessing);
  }

  /** Switches the input device (undefined: the default). Rejects with NO_DEVICE and keeps the old one. */
  async setInputDevice(deviceId: string | undefined): Promise<void> {
    const call = this.call;
    if (call?.mic) await call.mic.setDevice(deviceId, (track) => this.adoptMic(call, track));
    this.inputDevice.set(deviceId);
  }

  /** Switches the output device ('' is the default). Rejects with NO_DEVICE or NOT_SUPPORTED. */
  async setOutputDevice(deviceId: string): Promise<void> {
    if (typeof deviceId !== 'string') throw VoiceError.badArgument('deviceId', 'must be a string');
    if (this.call) await this.call.playback.setSinkId(deviceId);
    this.outputDevice.set(deviceId);
  }

  /** Caps the Opus bitrate (bits/s, from the channel's setting; undefined lifts the cap). */
  async setMaxBitrate(bps: number | undefined): Promise<void> {
    checkBitrate(bps);
    this.maxBitrate.set(bps);
    if (bps !== undefined) this.call?.relay?.setBitrate(bps);
    await this.call?.voice?.setMaxBitrate(bps);
  }

  /** Plays an audio file (mp3, ogg, wav) into the channel. Rejects with BAD_AUDIO_FILE or NOT_JOINED. */
  async playFile(file: Blob, options: PlayFileOptions = {}): Promise<void> {
    const call = this.requireCall('playFile');
    if (options.mode !== undefined && options.mode !== 'mix' && options.mode !== 'replace')
      throw VoiceError.badArgument('mode', "must be 'mix' or 'replace'");
    if (options.volume !== undefined) checkFileVolume(options.volume);
    const buffer = await decodeAudioFile(call.context, file);
    if (this.call !== call || !call.player)
      throw new VoiceError('ABORTED', 'left the call while the file decoded');
    if (options.mode) this.fileMode.set(options.mode);
    const playOptions: { volume?: number; loop?: boolean } = {};
    if (options.volume !== undefined) playOptions.volume = options.volume;
    if (options.loop !== undefined) playOptions.loop = options.loop;
    call.player.play(buffer, playOptions);
  }

  pauseFile(): void {
    this.call?.player?.pause();
  }

  resumeFile(): void {
    this.call?.player?.resume();
  }

  stopFile(): void {
    this.call?.player?.stop();
  }

  setFileVolume(volume: number): void {
    checkFileVolume(volume);
    if (this.call?.player) this.call.player.setVolume(volume);
    else this.file.set({ ...this.file.value, volume });
  }

  setFileMode(mode: FileMixMode): void {
    if (mode !== 'mix' && mode !== 'replace')
      throw VoiceError.badArgument('mode', "must be 'mix' or 'replace'");
    this.fileMode.set(mode);
    if (this.call) this.applyTransmit(this.call);
  }

  /** Seconds into the playing file (0 when idle). */
  filePosition(): number {
    return this.call?.player?.position ?? 0;
  }

  /** Shares the screen; resolves with the captured stream. Rejects with SCREEN_DENIED, NOT_JOINED. */
  startScreenShare(): Promise<MediaStream> {
    return this.startVideo('screen', {});
  }

  stopScreenShare(): Promise<void> {
    return this.stopVideo('screen');
  }

  /** Shares a camera; resolves with the captured stream. Rejects with CAMERA_DENIED, NO_DEVICE, NOT_JOINED. */
  startCamera(options: CameraOptions = {}): Promise<MediaStream> {
    return this.startVideo('camera', options);
  }

  stopCamera(): Promise<void> {
    return this.stopVideo('camera');
  }

  /** The mic track being captured (null when not joined). */
  get inputTrack(): MediaStreamTrack | null {
    return this.call?.micTrack ?? null;
  }

  /** A tap on what arrives from `peerId` (before volume, mute, deafen): RMS and samples, e.g. for tone checks. */
  receivedAudio(peerId: string): AnalyserProbe | undefined {
    return this.call?.playback.received(peerId);
  }

  /** A tap on what is played: one peer after volume and local mute, or (no id) the whole output after deafen. */
  playedAudio(peerId?: string): AnalyserProbe | undefined {
    return this.call?.playback.played(peerId);
  }

  /** Retries audio that autoplay refused; call from a user gesture when `error` is AUTOPLAY_BLOCKED. */
  resumePlayback(): void {
    const call = this.call;
    if (!call) return;
    call.context.resume().catch(() => undefined /* still refused; the next gesture retries */);
    call.playback.resumeElements();
  }

  /**
   * A context that stays suspended (join() not called from a user gesture, and the
   * page has not been interacted with) runs no meter, mix or playback: say so.
   */
  private watchAutoplay(call: Call): void {
    const { context } = call;
    const blocked = new VoiceError(
      'AUTOPLAY_BLOCKED',
      'audio is blocked until the page gets a click or key press',
    );
    const check = () => {
      if (this.call !== call) return;
      if (context.state === 'suspended' && this.error.value === null) this.error.set(blocked);
      else if (context.state === 'running' && this.error.value === blocked) this.error.set(null);
    };
    context.addEventListener('statechange', check, { signal: call.abort.signal });
    context
      .resume()
      .then(check, (error: unknown) => console.warn('tincan voice: the AudioContext did not start', error));
    // resume() stays pending while autoplay is refused: look again shortly.
    setTimeout(check, 1000);
  }

  private requireCall(what: string): Call {
    if (!this.call) throw VoiceError.notJoined(what);
    return this.call;
  }

  private async applyOutputDevice(call: Call): Promise<void> {
    if (this.outputDevice.value === '') return;
    try {
      await call.playback.setSinkId(this.outputDevice.value);
    } catch (error) {
      // The saved device is gone: play on the default one and say so.
      this.error.set(error instanceof VoiceError ? error : new VoiceError('NO_DEVICE', String(error)));
    }
  }

  private applyTransmit(call: Call): void {
    const { mix, voice, sendTrack } = call;
    if (!mix || !voice || !sendTrack || this.call !== call) return;
    const decision = decideTransmit({
      mode: this.inputMode.value,
      muted: this.muted.value,
      deafened: this.deafened.value,
      pressed: this.pushToTalkHeld.value,
      voiceActive: call.voiceActive,
      filePlaying: this.file.value.state === 'playing',
      fileMode: this.fileMode.value,
    });
    const before = call.decision;
    const route = call.relay ?? 'mesh';
    call.decision = decision;
    sendTrack.enabled = decision.micOpen;
    this.transmitting.set(decision.audible);
    const sameRoute = call.decidedFor === route;
    call.decidedFor = route;
    if (
      before &&
      sameRoute &&
      before.transmitting === decision.transmitting &&
      before.source === decision.source &&
      before.micInMix === decision.micInMix
    )
      return;
    mix.setMicInMix(decision.micInMix);
    const source = decision.source === 'mix' ? mix.track : sendTrack;
    const { relay } = call;
    if (relay) {
      relay.setSource(source);
      relay.setTransmitting(decision.transmitting);
    }
    void voice.setSource(source);
    void voice.setOpen(decision.transmitting && (!relay || call.meshAlongside === true));
  }

  private async adoptMic(call: Call, track: MediaStreamTrack): Promise<void> {
    if (this.call !== call || !call.mix || !call.voice) throw new VoiceError('ABORTED', 'the call ended');
    call.micTrack = track;
    call.mix.setMicTrack(track);
    this.listenToCapture(call, track);
    const before = call.sendTrack;
    const sendTrack = gatedClone(track, call.decision?.micOpen === true);
    call.sendTrack = sendTrack;
    if (call.decision?.source !== 'mix') {
      call.relay?.setSource(sendTrack);
      await call.voice.setSource(sendTrack);
    }
    before?.stop();
  }

  /** The detector hears each captured chunk as it comes (capture-levels.ts), where the browser can. */
  private listenToCapture(call: Call, track: MediaStreamTrack): void {
    call.levels?.stop();
    if (!CaptureLevels.supported()) return;
    const levels = new CaptureLevels(
      track,
      (level, now) => {
        if (this.call !== call) return;
        const before = call.voiceActive;
        call.voiceActive = call.localDetector.update(level, now);
        if (call.voiceActive !== before) this.applyTransmit(call);
      },
      () => {
        if (call.levels === levels) call.levels = undefined; // the meter tick feeds the detector again
      },
    );
    call.levels = levels;
  }

  private onMicEnded(call: Call): void {
    if (this.call !== call) return;
    this.error.set(new VoiceError('NO_DEVICE', 'the microphone stopped (unplugged or access revoked)'));
  }

  private onPeerJoin(call: Call, peer: VoicePeer): void {
    if (this.call !== call || !call.voice) return; // before the mic opened: join() adds every peer then
    void call.voice.addPeer(peer);
    for (const local of Object.values(call.video)) void local?.addPeer(peer);
  }

  private onPeerLeave(call: Call, peerId: string): void {
    if (this.call !== call) return;
    void call.voice?.removePeer(peerId);
    for (const local of Object.values(call.video)) void local?.removePeer(peerId);
    this.voices.remove(peerId);
    this.remoteVideo.removePeer(peerId);
  }

  private onTrack(
    call: Call,
    track: MediaStreamTrack,
    stream: MediaStream,
    peer: VoicePeer,
    metadata?: JsonValue,
  ): void {
    if (this.call !== call) return;
    const kind = mediaKindOf(metadata);
    if (kind === 'voice' && track.kind === 'audio') this.voices.add(peer, track, stream);
    else if ((kind === 'screen' || kind === 'camera') && track.kind === 'video')
      this.remoteVideo.add(peer, track, stream, kind);
  }

  private tick(call: Call): void {
    if (this.call !== call || !call.mix) return;
    const now = performance.now();
    const level = levelFromRms(call.mix.micProbe.rms());
    this.level.set(Math.round(level * 100) / 100);
    if (!call.levels) call.voiceActive = call.localDetector.update(level, now);
    this.applyTransmit(call);
    const heard = call.decision?.transmitting === true;
    const source = call.decision?.source;
    const micOpen = call.decision?.micOpen === true;
    this.localSpeaking.set(heard && ((micOpen && call.voiceActive) || source === 'mix'));
    this.voices.tick(now);
  }

  private startVideo(kind: VideoKind, camera: CameraOptions): Promise<MediaStream> {
    const call = this.requireCall(kind === 'screen' ? 'startScreenShare' : 'startCamera');
    const running = call.video[kind];
    if (running) return Promise.resolve(running.stream);
    const starting = call.videoStarting[kind];
    if (starting) return starting;
    const start = (async () => {
      try {
        const onEnded = () => void this.stopVideo(kind);
        const local = await LocalVideo.start(call.mesh, kind, onEnded, camera);
        if (this.call !== call) {
          await local.stop();
          throw new VoiceError('ABORTED', `left the call while the ${kind} capture started`);
        }
        call.video[kind] = local;
        (kind === 'screen' ? this.screen : this.camera).set(local.stream);
        return local.stream;
      } finally {
        delete call.videoStarting[kind];
      }
    })();
    call.videoStarting[kind] = start;
    return start;
  }

  private async stopVideo(kind: VideoKind): Promise<void> {
    const call = this.call;
    const local = call?.video[kind];
    if (!call || !local) return;
    delete call.video[kind];
    (kind === 'screen' ? this.screen : this.camera).set(null);
    await local.stop();
  }

  private async teardown(call: Call): Promise<void> {
    if (call.tornDown) return;
    call.tornDown = true;
    if (call.timer !== undefined) clearInterval(call.timer);
    for (const off of call.unsubscribe) off();
    call.abort.abort();
    this.stats.detach();
    this.remoteVideo.clear();
    call.relay?.close();
    call.player?.close();
    try {
      await Promise.all([call.voice?.close(), ...Object.values(call.video).map((local) => local?.stop())]);
    } finally {
      call.mic?.stop();
      call.levels?.stop();
      call.sendTrack?.stop();
      call.mix?.close();
      call.playback.close();
      await call.context.close().catch(() => undefined /* already closed */);
      if (!this.call) {
        this.joined.set(false);
        this.transmitting.set(false);
        this.level.set(0);
        this.localSpeaking.set(false);
        this.screen.set(null);
        this.camera.set(null);
        this.route.set('mesh');
      }
    }
  }
}
