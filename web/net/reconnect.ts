/**
 * Reconnect policy: exponential backoff with full jitter (AWS architecture blog,
 * "Exponential Backoff and Jitter"), reset after a connection that stayed up. Returns
 * the next delay in ms, or null when the close means "do not retry" (kicked, banned,
 * auth failed).
 */
import { errorCodeForClose, isTerminalClose } from '../../protocol/errors.ts';

export interface ReconnectPolicyOptions {
  baseMs?: number;
  maxMs?: number;
  /** A connection up at least this long resets the backoff. */
  stableMs?: number;
  random?: () => number;
}

export class ReconnectPolicy {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;

  constructor(options: ReconnectPolicyOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.stableMs = options.stableMs ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** Call when a connection opened and then closed; `upMs` is how long it was up (0 if it never opened). */
  next(closeCode: number, upMs: number): number | null {
    if (isTerminalClose(closeCode)) return null;
    if (upMs >= this.stableMs) this.attempt = 0;
    // A server asking us to slow down gets at least a few seconds.
    const floor = errorCodeForClose(closeCode) === 'RATE_LIMITED' ? 5_000 : 0;
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 20);
    return Math.max(floor, Math.round(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}
