/**
 * A sliding anti-replay window over counters, as IPsec ESP keeps for sequence
 * numbers (RFC 4303 §3.4.3; bitmap as in RFC 6479): the highest counter accepted so
 * far, and one bit for each of the `size` counters at and below it. Counters may
 * arrive late or out of order within the window; a counter seen before is `REPLAY`,
 * one below the window is `TOO_OLD`, anything above it moves the window up.
 *
 * Check first (cheap, no state change), authenticate, then `accept`: a forged
 * packet must never move the window (RFC 4303 §3.4.3, "after the ICV is verified").
 */
import { aint } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const DEFAULT_REPLAY_WINDOW = 128;

export class ReplayWindow {
  readonly size: number;
  /** Bit (c mod size) is set when counter c, within the window, was accepted. */
  private readonly _bits: Uint32Array;
  private _top = -1;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    aint(size, 32, 1 << 16, 'size');
    if (size % 32 !== 0) throw new CryptoError('BAD_INPUT', `size must be a multiple of 32, got ${size}`);
    this.size = size;
    this._bits = new Uint32Array(size / 32);
  }

  /** The highest counter accepted so far, or -1. */
  get highest(): number {
    return this._top;
  }

  /** Throws `REPLAY` or `TOO_OLD` when `counter` must be refused; changes nothing. */
  check(counter: number): void {
    if (counter > this._top) return;
    if (this._top - counter >= this.size) {
      throw new CryptoError('TOO_OLD', `counter ${counter} is below the window (highest ${this._top})`);
    }
    const bit = counter % this.size;
    if (this._bits[bit >>> 5]! & (1 << (bit & 31))) {
      throw new CryptoError('REPLAY', `counter ${counter} was already received`);
    }
  }

  /** Records `counter` as received (after `check` and authentication). */
  accept(counter: number): void {
    this.check(counter);
    if (counter > this._top) {
      // Clear the bits of the counters the window slides over, at most all of them.
      const gap = Math.min(counter - this._top, this.size);
      for (let i = 1; i <= gap; i++) {
        const bit = (counter - gap + i) % this.size;
        this._bits[bit >>> 5]! &= ~(1 << (bit & 31));
      }
      this._top = counter;
    }
    const bit = counter % this.size;
    this._bits[bit >>> 5]! |= 1 << (bit & 31);
  }
}
