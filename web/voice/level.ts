/**
 * Audio level arithmetic shared by the meters: RMS of a block of samples and its
 * mapping to the 0–1 scale the UI draws and the speaking detector thresholds
 * (linear in dB: -60 dBFS → 0, 0 dBFS → 1).
 */

/** The level scale's floor; anything quieter reads 0. */
export const LEVEL_FLOOR_DB = -60;

/** Root mean square of `samples` (0 for an empty block). */
export function rms(samples: ArrayLike<number>): number {
  const n = samples.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = samples[i] as number;
    sum += x * x;
  }
  return Math.sqrt(sum / n);
}

/** dBFS of an RMS value (−Infinity for silence). */
export function toDb(value: number): number {
  return value > 0 ? 20 * Math.log10(value) : Number.NEGATIVE_INFINITY;
}

/** An RMS value on the 0–1 meter scale. */
export function levelFromRms(value: number): number {
  const db = toDb(value);
  if (!(db > LEVEL_FLOOR_DB)) return 0;
  return Math.min(1, (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB);
}
