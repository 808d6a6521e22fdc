/**
 * A pure tone detector (the Goertzel algorithm: one DFT bin at any frequency) for
 * tests and benchmarks that play a known tone and check, from samples taken at the
 * receiver, that this tone — and not another speaker's — arrives.
 *
 * The block is Hann-windowed, so energy from other frequencies leaks little into
 * the measured bin and the block need not hold a whole number of cycles.
 */

function checkInput(samples: ArrayLike<number>, sampleRate: number, frequency: number): void {
  if (typeof samples !== 'object' || samples === null || typeof samples.length !== 'number')
    throw new TypeError('tone: samples must be an array of numbers');
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) throw new RangeError('tone: sampleRate must be > 0');
  if (!(Number.isFinite(frequency) && frequency > 0 && frequency < sampleRate / 2))
    throw new RangeError('tone: frequency must be between 0 and sampleRate / 2');
}

/**
 * The amplitude (peak, same unit as the samples) of the sinusoid at `frequency`
 * in the block, estimated by a Hann-windowed Goertzel filter.
 */
export function toneAmplitude(samples: ArrayLike<number>, sampleRate: number, frequency: number): number {
  checkInput(samples, sampleRate, frequency);
  const n = samples.length;
  if (n < 2) return 0;
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    windowSum += w;
    const s0 = (samples[i] as number) * w + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / windowSum;
}

/**
 * The share (0–1, about 1 for a clean tone) of the block's energy that is the
 * sinusoid at `frequency`; 0 for a silent block.
 */
export function toneRatio(samples: ArrayLike<number>, sampleRate: number, frequency: number): number {
  const amplitude = toneAmplitude(samples, sampleRate, frequency);
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i] as number;
    sum += x * x;
  }
  const meanSquare = samples.length > 0 ? sum / samples.length : 0;
  if (meanSquare === 0) return 0;
  return Math.min(1, (amplitude * amplitude) / 2 / meanSquare);
}

export interface ToneOptions {
  /** Share of the block's energy the tone must hold. Default 0.5. */
  minRatio?: number;
  /** Amplitude below which the block counts as silence. Default 0.001 (-60 dBFS). */
  minAmplitude?: number;
}

/** Whether the block holds a clear tone at `frequency`. */
export function hasTone(
  samples: ArrayLike<number>,
  sampleRate: number,
  frequency: number,
  options: ToneOptions = {},
): boolean {
  const { minRatio = 0.5, minAmplitude = 0.001 } = options;
  return (
    toneAmplitude(samples, sampleRate, frequency) >= minAmplitude &&
    toneRatio(samples, sampleRate, frequency) >= minRatio
  );
}

/** Of the candidate frequencies, the one holding most of the block's energy (undefined if silent). */
export function strongestTone(
  samples: ArrayLike<number>,
  sampleRate: number,
  candidates: readonly number[],
): number | undefined {
  let best: number | undefined;
  let bestAmplitude = 0;
  for (const frequency of candidates) {
    const amplitude = toneAmplitude(samples, sampleRate, frequency);
    if (amplitude > bestAmplitude) {
      best = frequency;
      bestAmplitude = amplitude;
    }
  }
  return best;
}
