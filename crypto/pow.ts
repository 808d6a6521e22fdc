/**
 * Hashcash-style proof of work against connection floods: find `solution` such that
 * SHA-256(encodeStatement('tincan/pow/v1', [challenge, solution])) starts with
 * `difficulty` zero bits. Verifying costs one hash; solving costs ~2^difficulty.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, aint, u64 } from './bytes.ts';
import { encodeStatement } from './statement.ts';

export const POW_CONTEXT = 'tincan/pow/v1';
export const MAX_POW_DIFFICULTY = 32;

export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export function checkPow(challenge: Uint8Array, solution: Uint8Array, difficulty: number): boolean {
  abytes(challenge, undefined, 'challenge');
  abytes(solution, undefined, 'solution');
  aint(difficulty, 0, MAX_POW_DIFFICULTY, 'difficulty');
  if (solution.length > 32) return false;
  return leadingZeroBits(sha256(encodeStatement(POW_CONTEXT, [challenge, solution]))) >= difficulty;
}

/** Searches for a solution (8-byte counter). Bounded by `maxTries`; returns undefined if not found. */
export function solvePow(
  challenge: Uint8Array,
  difficulty: number,
  maxTries = 2 ** 30,
): Uint8Array | undefined {
  aint(difficulty, 0, MAX_POW_DIFFICULTY, 'difficulty');
  for (let i = 0; i < maxTries; i++) {
    const solution = u64(i);
    if (checkPow(challenge, solution, difficulty)) return solution;
  }
  return undefined;
}
