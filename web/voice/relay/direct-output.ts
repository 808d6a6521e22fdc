/**
 * Relay voices played without decoding them in the page: each sender's Opus packets,
 * as they arrive, are written into a loopback RTCPeerConnection of their own
 * (an encoded transform, `encodedInsertableStreams`) and played from the far end's
 * remote track by an <audio> element:
 *
 *   relay frame → opened Opus ─▶ sender (one transceiver per relay sender) ══▶ receiver ─▶ <audio>
 *
 * WebRTC's own jitter buffer (NetEq) then does what the page's jitter buffer,
 * decoder, Web Audio scheduling and the re-encode of playback.ts did, and the audio
 * still leaves through the output Chrome's echo canceller hears (a remote track in
 * a media element). Each transceiver sends a silent track; its encoder's frames are
 * read and dropped, the first kept as a template for the frames written here. Each
 * written frame carries an RTP timestamp from the sender's frame counter, so a lost
 * or late frame reaches NetEq as what it is.
 *
 * The page still decodes every relay voice (speaking rings, level probes, and
 * volumes above 100 %, which a media element cannot play): remote-audio.ts plays a
 * sender from here or from its decoded node, never both.
 */
import { VoiceError } from '../errors.ts';

const SAMPLES_PER_FRAME = 960;
const FRAME_MS = 20;
/** Counter steps taken as loss or reordering within one run of frames; more is a restart. */
const MAX_STEP = 50;
/** Frames' worth of wall time beyond the counter step that make a pause (a new talk spurt). */
const PAUSE_FRAMES = 5;
/** How often each voice's WebRTC jitter buffer delay is read for the route indicator. */
const STATS_INTERVAL_MS = 2000;

/** What the browser must offer (Chromium's encoded transform on the main thread). */
export function canPlayDirect(): boolean {
  return (
    typeof RTCRtpSender !== 'undefined' &&
    'createEncodedStreams' in RTCRtpSender.prototype &&
    typeof (globalThis as { RTCEncodedAudioFrame?: unknown }).RTCEncodedAudioFrame === 'function'
  );
}

interface EncodedFrame {
  data: ArrayBuffer;
  getMetadata(): Record<string, unknown> & { rtpTimestamp?: number };
}
type EncodedFrameCtor = new (
  template: EncodedFrame,
  options: { metadata: Record<string, unknown> },
) => EncodedFrame;
type EncodedStreams = { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame> };

/** One relay sender's direct playback. */
export class DirectVoice {
  readonly element = new Audio();
  track: MediaStreamTrack | undefined;
  private template: EncodedFrame | undefined;
  private writer: WritableStreamDefaultWriter<EncodedFrame> | undefined;
  private last: { keyId: number; counter: number; timestamp: number; at: number } | undefined;
  private closed = false;
  /** WebRTC's jitter buffer delay over the last stats interval, ms (null before the first). */
  bufferMs: number | null = null;
  /** @internal The receiver's totals at the last stats read. */
  buffered = { delay: 0, emitted: 0 };
  /** Frames written, and dropped (before the template, or after close). */
  readonly counts = { written: 0, dropped: 0 };

  constructor(readonly sender: RTCRtpSender) {
    this.element.autoplay = true;
  }

  /** @internal */ attach(streams: EncodedStreams): void {
    this.writer = streams.writable.getWriter();
    const reader = streams.readable.getReader();
    void (async () => {
      // The silent encoder's frames: the first is the template, the rest are dropped.
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done || this.closed) return;
        this.template ??= value;
      }
    })();
  }

  /** One sender's Opus packet, `counter` its frame counter under `keyId`. */
  write(keyId: number, counter: number, opus: Uint8Array): void {
    const template = this.template;
    const Frame = (globalThis as unknown as { RTCEncodedAudioFrame?: EncodedFrameCtor }).RTCEncodedAudioFrame;
    if (this.closed || !template || !this.writer || !Frame) {
      this.counts.dropped++;
      return;
    }
    const now = performance.now();
    const last = this.last;
    const sameRun = last !== undefined && last.keyId === keyId;
    const byCounter = sameRun ? counter - last.counter : 0;
    const byClock = last ? Math.round((now - last.at) / FRAME_MS) : 0;
    let timestamp: number;
    if (sameRun && byCounter > 0 && byCounter < MAX_STEP && byClock - byCounter < PAUSE_FRAMES)
      timestamp = last.timestamp + byCounter * SAMPLES_PER_FRAME; // in order, or after a loss
    else if (sameRun && byCounter <= 0 && -byCounter < MAX_STEP)
      timestamp = last.timestamp + byCounter * SAMPLES_PER_FRAME; // late or repeated: NetEq places it
    else {
      // The first frame, a new key id (counters start over), or the first after a
      // pause (a gated sender's counter does not run on in silence): RTP time goes on
      // with the clock, as a sender's would through silence.
      const base = last?.timestamp ?? template.getMetadata().rtpTimestamp ?? 0;
      timestamp = base + (last ? Math.max(1, byClock) : 0) * SAMPLES_PER_FRAME;
    }
    timestamp >>>= 0;
    if (!sameRun || byCounter > 0) this.last = { keyId, counter, timestamp, at: now };
    const frame = new Frame(template, { metadata: { ...template.getMetadata(), rtpTimestamp: timestamp } });
    frame.data = opus.slice().buffer;
    this.writer.write(frame).catch(() => undefined); // closed meanwhile
    this.counts.written++;
  }

  set volume(volume: number) {
    this.element.volume = Math.min(1, Math.max(0, volume));
  }

  set muted(muted: boolean) {
    this.element.muted = muted;
  }

  /** @internal */ close(): void {
    this.closed = true;
    this.element.pause();
    this.element.srcObject = null;
    this.writer?.close().catch(() => undefined);
  }
}

/** The loopback pair that carries every direct relay voice of a call. */
export class DirectOutput {
  private readonly send = new RTCPeerConnection({ encodedInsertableStreams: true } as RTCConfiguration);
  private readonly receive = new RTCPeerConnection();
  private readonly voices = new Map<string, DirectVoice>();
  private readonly silence: MediaStreamAudioDestinationNode;
  private readonly zero: ConstantSourceNode;
  private negotiation: Promise<void> = Promise.resolve();
  private sinkId = '';
  private statsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(context: AudioContext) {
    this.silence = context.createMediaStreamDestination();
    // A destination with nothing connected gives the encoder no audio, so no frames to
    // take the template from: a constant zero keeps it encoding (silence, a few bytes).
    this.zero = context.createConstantSource();
    this.zero.offset.value = 0;
    this.zero.connect(this.silence);
    this.zero.start();
    this.statsTimer = setInterval(() => void this.readBuffers(), STATS_INTERVAL_MS);
    this.send.onicecandidate = (e) =>
      e.candidate && void this.receive.addIceCandidate(e.candidate).catch(() => {});
    this.receive.onicecandidate = (e) =>
      e.candidate && void this.send.addIceCandidate(e.candidate).catch(() => {});
  }

  /** Starts direct playback of `key` (a relay sender); resolves once its element plays. */
  add(key: string): Promise<DirectVoice> {
    this.remove(key);
    const [silent] = this.silence.stream.getAudioTracks();
    if (!silent) return Promise.reject(new VoiceError('NOT_SUPPORTED', 'no silent track for direct output'));
    const track = silent.clone();
    const stream = new MediaStream([track]);
    const transceiver = this.send.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    const voice = new DirectVoice(transceiver.sender);
    voice.attach(
      (transceiver.sender as unknown as { createEncodedStreams(): EncodedStreams }).createEncodedStreams(),
    );
    this.voices.set(key, voice);
    const arrived = new Promise<MediaStreamTrack>((resolve) => {
      const onTrack = (event: RTCTrackEvent) => {
        if (event.transceiver.mid !== transceiver.mid) return;
        this.receive.removeEventListener('track', onTrack);
        resolve(event.track);
      };
      this.receive.addEventListener('track', onTrack);
    });
    this.negotiation = this.negotiation.then(() => this.negotiate()).catch(() => undefined);
    return this.negotiation.then(async () => {
      const remote = await arrived;
      for (const receiver of this.receive.getReceivers())
        if (receiver.track === remote && 'jitterBufferTarget' in receiver)
          (receiver as { jitterBufferTarget: number | null }).jitterBufferTarget = 0;
      voice.track = remote;
      voice.element.srcObject = new MediaStream([remote]);
      if (this.sinkId !== '') await setSink(voice.element, this.sinkId).catch(() => undefined);
      await voice.element.play().catch((error: unknown) => {
        console.warn('tincan relay voice: a direct output element did not start', error);
      });
      return voice;
    });
  }

  get(key: string): DirectVoice | undefined {
    return this.voices.get(key);
  }

  remove(key: string): void {
    const voice = this.voices.get(key);
    if (!voice) return;
    this.voices.delete(key);
    voice.close();
    voice.sender.track?.stop();
    const transceiver = this.send.getTransceivers().find((t) => t.sender === voice.sender);
    transceiver?.stop();
  }

  /** Every element on the output device `deviceId`. */
  async setSinkId(deviceId: string): Promise<void> {
    this.sinkId = deviceId;
    await Promise.all([...this.voices.values()].map((v) => setSink(v.element, deviceId)));
  }

  resume(): void {
    for (const v of this.voices.values()) if (v.element.paused) v.element.play().catch(() => undefined);
  }

  close(): void {
    clearInterval(this.statsTimer);
    for (const key of [...this.voices.keys()]) this.remove(key);
    this.zero.stop();
    this.zero.disconnect();
    this.send.close();
    this.receive.close();
  }

  /** Each voice's jitter buffer delay since the last read (inbound-rtp jitterBufferDelay / emitted samples). */
  private async readBuffers(): Promise<void> {
    if (this.voices.size === 0 || this.receive.connectionState === 'closed') return;
    const byTrack = new Map<string, DirectVoice>();
    for (const voice of this.voices.values()) if (voice.track) byTrack.set(voice.track.id, voice);
    const report = await this.receive.getStats().catch(() => undefined);
    for (const stat of report?.values() ?? []) {
      const s = stat as {
        type: string;
        trackIdentifier?: string;
        jitterBufferDelay?: number;
        jitterBufferEmittedCount?: number;
      };
      const voice =
        s.type === 'inbound-rtp' && s.trackIdentifier ? byTrack.get(s.trackIdentifier) : undefined;
      if (!voice || s.jitterBufferDelay === undefined || s.jitterBufferEmittedCount === undefined) continue;
      const emitted = s.jitterBufferEmittedCount - voice.buffered.emitted;
      const delay = s.jitterBufferDelay - voice.buffered.delay;
      if (emitted > 0) voice.bufferMs = (delay / emitted) * 1000;
      voice.buffered = { delay: s.jitterBufferDelay, emitted: s.jitterBufferEmittedCount };
    }
  }

  private async negotiate(): Promise<void> {
    await this.send.setLocalDescription();
    await this.receive.setRemoteDescription(this.send.localDescription as RTCSessionDescription);
    await this.receive.setLocalDescription();
    const answer = this.receive.localDescription as RTCSessionDescription;
    await this.send.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
  }
}

async function setSink(element: HTMLAudioElement, deviceId: string): Promise<void> {
  const settable = element as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof settable.setSinkId === 'function') await settable.setSinkId(deviceId);
}
