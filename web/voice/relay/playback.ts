/**
 * Where relay voices are heard: every sender's chain (decoder.ts) feeds one master
 * bus (deafen), which is turned into a MediaStream and played through a loopback
 * RTCPeerConnection pair into an <audio> element:
 *
 *   senders ─ master gain ─ MediaStreamAudioDestination ─ track ─▶ pcSend ══ DTLS-SRTP ══▶ pcReceive
 *                                                                 remote track ─▶ <audio> (unmuted)
 *
 * Why: Chrome's echo canceller only hears far-end audio that leaves through its
 * WebRTC audio output (remote tracks played by a media element); audio played
 * straight from Web Audio bypasses it and would be sent back as echo. Nothing here
 * is connected to `context.destination`. `loopbackStats()` proves the path: the
 * receiving side's inbound-rtp counters rise while anyone speaks.
 *
 * The loopback adds WebRTC's own jitter buffer; it is asked for the least delay
 * (`jitterBufferTarget = 0`) and the send side for a high Opus bitrate.
 */
import { VoiceError } from '../errors.ts';

const LOOPBACK_BITRATE = 128_000;
const CONNECT_TIMEOUT_MS = 10_000;
const GAIN_SMOOTHING_S = 0.01;

export interface LoopbackStats {
  readonly packetsReceived: number;
  readonly bytesReceived: number;
  readonly totalAudioEnergy: number;
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new VoiceError('NOT_SUPPORTED', `${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export class LoopbackOutput {
  readonly context: AudioContext;
  /** The bus every sender connects to. */
  readonly input: GainNode;
  readonly element: HTMLAudioElement;
  readonly sendConnection: RTCPeerConnection;
  readonly receiveConnection: RTCPeerConnection;
  private readonly destination: MediaStreamAudioDestinationNode;
  private remote: MediaStreamTrack | undefined;
  private deafened = false;
  /** Made here (closed with the output), or the caller's (left open). */
  private readonly ownsContext: boolean;
  /** True when the browser refused to start the element without a user gesture. */
  autoplayBlocked = false;

  private constructor(context: AudioContext, ownsContext: boolean) {
    this.context = context;
    this.ownsContext = ownsContext;
    this.input = context.createGain();
    this.destination = context.createMediaStreamDestination();
    this.destination.channelCount = 1;
    this.input.connect(this.destination);
    this.element = new Audio();
    this.element.autoplay = true;
    this.sendConnection = new RTCPeerConnection({ iceServers: [] });
    this.receiveConnection = new RTCPeerConnection({ iceServers: [] });
  }

  /** Builds the loopback pair and starts the element; resolves once the remote track plays. A given context stays the caller's. */
  static async open(context?: AudioContext): Promise<LoopbackOutput> {
    const output = new LoopbackOutput(
      context ?? new AudioContext({ latencyHint: 'interactive' }),
      context === undefined,
    );
    try {
      await within(output.connect(), CONNECT_TIMEOUT_MS, 'the loopback connection did not come up');
    } catch (error) {
      output.close();
      throw error;
    }
    return output;
  }

  /** The track the <audio> element plays: the loopback receiver's remote track. */
  get track(): MediaStreamTrack | undefined {
    return this.remote;
  }

  get isDeafened(): boolean {
    return this.deafened;
  }

  setDeafened(deafened: boolean): void {
    this.deafened = deafened;
    this.input.gain.setTargetAtTime(deafened ? 0 : 1, this.context.currentTime, GAIN_SMOOTHING_S);
  }

  /** The loopback receiver's inbound-rtp audio counters. */
  async loopbackStats(): Promise<LoopbackStats> {
    const report = await this.receiveConnection.getStats();
    let packetsReceived = 0;
    let bytesReceived = 0;
    let totalAudioEnergy = 0;
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.type !== 'inbound-rtp' || stat.kind !== 'audio') return;
      packetsReceived += typeof stat.packetsReceived === 'number' ? stat.packetsReceived : 0;
      bytesReceived += typeof stat.bytesReceived === 'number' ? stat.bytesReceived : 0;
      totalAudioEnergy += typeof stat.totalAudioEnergy === 'number' ? stat.totalAudioEnergy : 0;
    });
    return { packetsReceived, bytesReceived, totalAudioEnergy };
  }

  /** Retries the element if autoplay refused it (call from a user gesture). */
  resume(): Promise<void> {
    return Promise.all([this.context.resume(), this.element.play()]).then(() => {
      this.autoplayBlocked = false;
    });
  }

  close(): void {
    this.input.disconnect();
    this.element.pause();
    this.element.srcObject = null;
    this.sendConnection.close();
    this.receiveConnection.close();
    for (const track of this.destination.stream.getTracks()) track.stop();
    if (this.ownsContext && this.context.state !== 'closed')
      this.context.close().catch(() => undefined /* already closing */);
  }

  private async connect(): Promise<void> {
    const send = this.sendConnection;
    const receive = this.receiveConnection;
    const [track] = this.destination.stream.getAudioTracks();
    if (!track) throw new VoiceError('NOT_SUPPORTED', 'the audio context gave no output track');
    const sender = send.addTrack(track, this.destination.stream);
    const arrived = new Promise<MediaStreamTrack>((resolve) => {
      receive.ontrack = (event) => resolve(event.track);
    });
    await send.setLocalDescription();
    await gathered(send);
    await receive.setRemoteDescription(send.localDescription as RTCSessionDescription);
    await receive.setLocalDescription();
    await gathered(receive);
    const answer = receive.localDescription as RTCSessionDescription;
    await send.setRemoteDescription({ type: answer.type, sdp: withShortPackets(answer.sdp) });
    const remote = await arrived;
    for (const receiver of receive.getReceivers())
      if ('jitterBufferTarget' in receiver)
        (receiver as { jitterBufferTarget: number | null }).jitterBufferTarget = 0;
    const parameters = sender.getParameters();
    for (const encoding of parameters.encodings) encoding.maxBitrate = LOOPBACK_BITRATE;
    await sender.setParameters(parameters).catch((error: unknown) => {
      // Keeps the default bitrate: lower quality, still the AEC path.
      console.warn('tincan relay voice: loopback bitrate not set', error);
    });
    this.remote = remote;
    this.element.srcObject = new MediaStream([remote]);
    await this.element.play().catch((error: unknown) => {
      // Autoplay refused: silent until `resume()` runs from a user gesture.
      this.autoplayBlocked = true;
      console.warn('tincan relay voice: the output element did not start', error);
    });
  }
}

/**
 * Asks the loopback sender for 10 ms Opus packets (`a=ptime:10`, RFC 4566 §6): each
 * packet waits 10 ms less before it is sent. Chromium honours a remote ptime.
 */
function withShortPackets(sdp: string): string {
  if (/^a=ptime:/m.test(sdp)) return sdp.replace(/^a=ptime:\d+/m, 'a=ptime:10');
  return sdp.replace(/^(m=audio [^\r\n]*\r?\n)/m, '$1a=ptime:10\r\n');
}
