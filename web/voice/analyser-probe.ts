/**
 * A tap on a point of a Web Audio graph: an AnalyserNode whose latest block of
 * samples gives the RMS (for meters and the speaking detector) and the raw samples
 * (for tone checks in tests). The tap is a dead end: it does not feed the output.
 */
import { rms } from './level.ts';

/** ~46 ms at 44.1 kHz: a little longer than the 20 ms meter tick, so no block goes unseen. */
const FFT_SIZE = 2048;

export class AnalyserProbe {
  readonly node: AnalyserNode;
  private readonly buffer: Float32Array<ArrayBuffer>;

  constructor(context: BaseAudioContext, fftSize = FFT_SIZE) {
    this.node = context.createAnalyser();
    this.node.fftSize = fftSize;
    this.node.smoothingTimeConstant = 0;
    this.buffer = new Float32Array(this.node.fftSize);
  }

  get sampleRate(): number {
    return this.node.context.sampleRate;
  }

  /** RMS of the latest block. */
  rms(): number {
    this.node.getFloatTimeDomainData(this.buffer);
    return rms(this.buffer);
  }

  /** A copy of the latest block of samples. */
  samples(): Float32Array {
    this.node.getFloatTimeDomainData(this.buffer);
    return this.buffer.slice();
  }

  disconnect(): void {
    this.node.disconnect();
  }
}
