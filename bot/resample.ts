/**
 * Sample-rate conversion for files played into a channel (any rate → 48 kHz): band-
 * limited interpolation (Smith's "Digital Audio Resampling" method, as in libsamplerate
 * and resampy) with a Blackman-windowed sinc. Each output sample is the sum of the
 * input samples within `ZERO_CROSSINGS` zero crossings of the kernel, centred on its
 * exact position in the input; the kernel is tabulated once per call and read with
 * linear interpolation, so no trigonometry runs per sample.
 *
 * The low-pass sits at 0.95 × the lower of the two Nyquist frequencies: going down
 * (96 → 48 kHz) content above 24 kHz is removed instead of folding back into the
 * audible band; going up, the spectral images above the input's Nyquist frequency are
 * removed. The Blackman window keeps the stop band below about −70 dB.
 */
import { BotError } from './errors.ts';

/** Kernel half-width in zero crossings (of the sinc at the cut-off). */
const ZERO_CROSSINGS = 16;
/** Table entries per zero crossing. */
const TABLE_RESOLUTION = 512;
const CUTOFF = 0.95;

function checkRate(rate: number, name: string): void {
  if (!(Number.isInteger(rate) && rate >= 1000 && rate <= 384_000))
    throw new BotError('BAD_ARGUMENT', `${name} must be an integer 1000–384000 Hz, got ${rate}`);
}

/** The windowed sinc at 0, 1/R, 2/R, … zero crossings (R = TABLE_RESOLUTION), one guard entry past the end. */
function kernelTable(): Float64Array {
  const n = ZERO_CROSSINGS * TABLE_RESOLUTION;
  const table = new Float64Array(n + 2);
  for (let i = 0; i <= n; i++) {
    const x = i / TABLE_RESOLUTION; // in zero crossings
    const sinc = i === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = x / ZERO_CROSSINGS; // 0…1 across the half window
    const blackman = 0.42 + 0.5 * Math.cos(Math.PI * w) + 0.08 * Math.cos(2 * Math.PI * w);
    table[i] = sinc * blackman;
  }
  return table; // table[n + 1] stays 0
}

/**
 * `input` (mono samples at `fromRate`) at `toRate`: `round(length × toRate / fromRate)`
 * samples. Equal rates return a copy.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(input instanceof Float32Array)) throw new BotError('BAD_ARGUMENT', 'input must be a Float32Array');
  checkRate(fromRate, 'fromRate');
  checkRate(toRate, 'toRate');
  if (fromRate === toRate) return input.slice();
  const table = kernelTable();
  const step = fromRate / toRate; // input samples per output sample
  const scale = CUTOFF * Math.min(1, toRate / fromRate); // cut-off as a fraction of the input Nyquist
  const reach = ZERO_CROSSINGS / scale; // half-width in input samples
  const perSample = scale * TABLE_RESOLUTION; // table entries per input sample of distance
  const length = Math.round(input.length / step);
  const out = new Float32Array(length);
  const last = input.length - 1;
  for (let n = 0; n < length; n++) {
    const t = n * step;
    const from = Math.max(0, Math.ceil(t - reach));
    const to = Math.min(last, Math.floor(t + reach));
    let sum = 0;
    for (let i = from; i <= to; i++) {
      const position = Math.abs(t - i) * perSample;
      const k = position | 0;
      if (k >= ZERO_CROSSINGS * TABLE_RESOLUTION) continue;
      const frac = position - k;
      sum += input[i]! * (table[k]! + (table[k + 1]! - table[k]!) * frac);
    }
    out[n] = sum * scale;
  }
  return out;
}
