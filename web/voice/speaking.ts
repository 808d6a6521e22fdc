/**
 * Speaking detection from a level (0–1, see level.ts): on as soon as the level
 * reaches the threshold, off once it has stayed below for the hang time (Mumble's
 * "voice hold"), so the indicator and the voice-activity gate do not flutter
 * between syllables. Pure: the caller feeds levels and timestamps.
 */

export interface SpeakingOptions {
  /** Level (0–1) at or above which a block counts as speech. */
  threshold: number;
  /** How long speech stays "on" after the last loud block, in ms. */
  holdMs: number;
}

export const DEFAULT_SPEAKING: Readonly<SpeakingOptions> = { threshold: 0.3, holdMs: 300 };

export function checkSpeakingOptions(options: SpeakingOptions): void {
  const { threshold, holdMs } = options;
  if (!(Number.isFinite(threshold) && threshold >= 0))
    throw new RangeError('speaking: threshold must be a number ≥ 0');
  if (!(Number.isFinite(holdMs) && holdMs >= 0))
    throw new RangeError('speaking: holdMs must be a number ≥ 0');
}

export class SpeakingDetector {
  private options: SpeakingOptions;
  private lastLoud = Number.NEGATIVE_INFINITY;
  private on = false;

  constructor(options: SpeakingOptions = DEFAULT_SPEAKING) {
    checkSpeakingOptions(options);
    this.options = { ...options };
  }

  get speaking(): boolean {
    return this.on;
  }

  configure(options: SpeakingOptions): void {
    checkSpeakingOptions(options);
    this.options = { ...options };
  }

  /** Feeds one level reading taken at `now` (ms); returns whether speech is on. */
  update(level: number, now: number): boolean {
    if (level >= this.options.threshold) this.lastLoud = now;
    this.on = now - this.lastLoud <= this.options.holdMs;
    return this.on;
  }

  reset(): void {
    this.lastLoud = Number.NEGATIVE_INFINITY;
    this.on = false;
  }
}
