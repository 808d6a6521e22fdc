/**
 * Runs fuzz targets and checks the properties every input must keep:
 * (1) no crash: a throw must be the module's typed error (CryptoError, ProtocolError,
 *     ValidationError), and targets documented as "never throws" may not throw at all;
 * (2) no accepted forgery: an authenticated format accepts only its valid seeds;
 * (3) idempotence: a target that accepts re-checks its own output (inside `run`,
 *     reported by throwing `PropertyViolation`);
 * (4) bounded time: each input finishes within `slowMs`.
 */
import { CryptoError } from '../../crypto/errors.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { ValidationError } from '../../protocol/validate.ts';
import { iterationRng, type Rng } from './mutate.ts';

export type Outcome = 'accepted' | 'rejected';

/** Thrown by a target's `run` when a property other than "no crash" fails (idempotence, a wrong result). */
export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
}

export interface Target<I = unknown> {
  readonly name: string;
  /** Valid inputs, built in code; every one must be accepted. */
  readonly seeds: readonly I[];
  /** A mutated input from the seeds. */
  mutate(rng: Rng): I;
  /** Checks one input. Returns whether it was accepted; throws a typed error or PropertyViolation otherwise. */
  run(input: I): Outcome | Promise<Outcome>;
  /** For authenticated formats: true when `input` carries the same authenticated content as `seed`. */
  same?(seed: I, input: I): boolean;
  /** Error types `run` may throw for a rejection; an empty list means the API never throws. */
  readonly typedErrors: readonly (abstract new (
    ...args: never[]
  ) => Error)[];
  /** Bytes of the input for reports. */
  encode(input: I): Uint8Array;
}

export const CRYPTO_ERRORS = [CryptoError] as const;
export const PROTOCOL_ERRORS = [ProtocolError, ValidationError] as const;
export const NEVER_THROWS = [] as const;

export type FindingKind = 'crash' | 'forgery' | 'property' | 'slow' | 'seed-rejected';

export interface Finding {
  readonly target: string;
  readonly kind: FindingKind;
  readonly seed: number;
  /** -1 for a seed input. */
  readonly iteration: number;
  readonly hex: string;
  readonly error: string;
}

export interface Stats {
  readonly target: string;
  tried: number;
  accepted: number;
  /** Accepted mutated inputs whose bytes differ from every seed but whose content `same` calls equal. */
  equivalent: number;
  rejected: number;
  readonly findings: Finding[];
  ms: number;
}

export interface RunOptions {
  readonly seed: number;
  /** Stop after this many mutated inputs … */
  readonly iterations?: number;
  /** … or at this time (performance.now() ms), whichever comes first. */
  readonly deadline?: number;
  /** One input slower than this is a finding. Default 2000 ms. */
  readonly slowMs?: number;
  /** Stop at the first finding (the short form). Default false. */
  readonly stopOnFinding?: boolean;
  /** Known bugs: findings whose message includes one of these are counted apart, not failed on. */
  readonly known?: readonly KnownBug[];
}

export interface KnownBug {
  readonly target: string;
  readonly match: string;
  readonly todo: string;
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-Error thrown: ${String(error)}`;
}

/** One input through one target; returns the outcome or the finding. */
export async function check<I>(
  target: Target<I>,
  input: I,
  where: { seed: number; iteration: number },
  slowMs = 2000,
): Promise<{ outcome: Outcome; equivalent?: true } | { finding: Finding }> {
  const finding = (kind: FindingKind, error: string) => ({
    finding: { target: target.name, kind, ...where, hex: toHex(target.encode(input)), error },
  });
  const start = performance.now();
  let outcome: Outcome;
  try {
    outcome = await target.run(input);
  } catch (error) {
    if (error instanceof PropertyViolation) return finding('property', error.message);
    if (!target.typedErrors.some((type) => error instanceof type))
      return finding('crash', describeError(error));
    outcome = 'rejected';
  }
  const ms = performance.now() - start;
  if (ms > slowMs) return finding('slow', `took ${ms.toFixed(0)} ms (bound ${slowMs} ms)`);
  if (outcome === 'accepted' && where.iteration >= 0 && target.same !== undefined) {
    if (!target.seeds.some((seed) => target.same?.(seed, input)))
      return finding('forgery', 'a mutated input that differs from every valid seed was accepted');
    // Same authenticated content in other bytes (the high-S twin of a signature).
    const hex = toHex(target.encode(input));
    if (!target.seeds.some((seed) => toHex(target.encode(seed)) === hex))
      return { outcome, equivalent: true };
  }
  if (outcome === 'rejected' && where.iteration < 0)
    return finding('seed-rejected', 'a valid seed was rejected');
  return { outcome };
}

/** Fuzzes one target: every seed first, then mutated inputs until the count or the deadline. */
export async function fuzzTarget<I>(
  target: Target<I>,
  options: RunOptions,
): Promise<Stats & { known: Finding[] }> {
  const stats = {
    target: target.name,
    tried: 0,
    accepted: 0,
    equivalent: 0,
    rejected: 0,
    findings: [] as Finding[],
    ms: 0,
  };
  const known: Finding[] = [];
  const start = performance.now();
  const record = (r: { outcome: Outcome; equivalent?: true } | { finding: Finding }) => {
    stats.tried++;
    if ('outcome' in r) {
      stats[r.outcome]++;
      if (r.equivalent) stats.equivalent++;
      return false;
    }
    const bug = options.known?.find((k) => k.target === target.name && r.finding.error.includes(k.match));
    if (bug) known.push(r.finding);
    else stats.findings.push(r.finding);
    return !bug;
  };
  for (const seedInput of target.seeds)
    record(await check(target, seedInput, { seed: options.seed, iteration: -1 }));
  const limit = options.iterations ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < limit; i++) {
    if (options.deadline !== undefined && performance.now() >= options.deadline) break;
    const input = target.mutate(iterationRng(options.seed, target.name, i));
    const failed = record(await check(target, input, { seed: options.seed, iteration: i }, options.slowMs));
    if (failed && options.stopOnFinding) break;
  }
  stats.ms = performance.now() - start;
  return { ...stats, known };
}

/** A finding as one line a person can replay. */
export function formatFinding(f: Finding): string {
  const hex = f.hex.length > 2048 ? `${f.hex.slice(0, 2048)}… (${f.hex.length / 2} bytes)` : f.hex;
  return `${f.kind} in ${f.target} (FUZZ_SEED=${f.seed}, iteration ${f.iteration}): ${f.error}\n  input hex: ${hex}`;
}
