/**
 * The local side of the Web Audio graph:
 *
 *   mic track ─ mic source ─┬─ mic probe (level meter, voice activity)
 *                           └─ mic gate ─┐
 *   file player ─ file input ────────────┴─ mix destination ─ mixed track
 *
 * The mic's own track (already through the browser's echo cancellation, noise
 * suppression and auto gain) is what peers get while no file plays; the mixed
 * track replaces it on the senders only while one does (transmit.ts decides).
 */
import { AnalyserProbe } from './analyser-probe.ts';

export class SendMix {
  /** Where a file player connects. */
  readonly fileInput: GainNode;
  /** The mic's level, before any gate. */
  readonly micProbe: AnalyserProbe;
  private micSource: MediaStreamAudioSourceNode;
  private readonly micGate: GainNode;
  private readonly destination: MediaStreamAudioDestinationNode;

  constructor(
    private readonly context: AudioContext,
    micTrack: MediaStreamTrack,
  ) {
    this.micProbe = new AnalyserProbe(context);
    this.micGate = context.createGain();
    this.micGate.gain.value = 0;
    this.fileInput = context.createGain();
    this.destination = context.createMediaStreamDestination();
    this.destination.channelCount = 1;
    this.destination.channelCountMode = 'explicit';
    this.micGate.connect(this.destination);
    this.fileInput.connect(this.destination);
    this.micSource = this.connectMic(micTrack);
  }

  /** The mixed track (mic through its gate, plus the file). */
  get track(): MediaStreamTrack {
    const track = this.destination.stream.getAudioTracks()[0];
    if (!track) throw new Error('SendMix: the destination has no track');
    return track;
  }

  /** Follows a re-captured mic. */
  setMicTrack(track: MediaStreamTrack): void {
    this.micSource.disconnect();
    this.micSource = this.connectMic(track);
  }

  /** Whether the mic is heard in the mix. */
  setMicInMix(on: boolean): void {
    this.micGate.gain.setTargetAtTime(on ? 1 : 0, this.context.currentTime, 0.005);
  }

  close(): void {
    this.micSource.disconnect();
    this.micGate.disconnect();
    this.fileInput.disconnect();
    this.micProbe.disconnect();
    this.track.stop();
  }

  private connectMic(track: MediaStreamTrack): MediaStreamAudioSourceNode {
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    source.connect(this.micProbe.node);
    source.connect(this.micGate);
    return source;
  }
}
