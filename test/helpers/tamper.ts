/**
 * Inputs for negative tests: values that are not byte arrays, and every one-byte
 * corruption of a sealed or signed blob. Isomorphic (no node:* imports).
 */

/** Values a `Uint8Array` parameter must refuse with `BAD_INPUT`. */
export const NOT_BYTES: readonly unknown[] = [
  undefined,
  null,
  0,
  1n,
  'abc',
  true,
  [1, 2, 3],
  {},
  new ArrayBuffer(8),
  new Uint16Array(4),
  new DataView(new ArrayBuffer(4)),
];

/** Values a `string` parameter must refuse with `BAD_INPUT`. */
export const NOT_STRINGS: readonly unknown[] = [undefined, null, 0, 1n, true, [], {}, new Uint8Array(3)];

/** Copies of `bytes`, each with byte `i` XORed with `mask` (one per position). */
export function* flipEachByte(bytes: Uint8Array, mask = 0x01): Generator<[number, Uint8Array]> {
  for (let i = 0; i < bytes.length; i++) {
    const copy = bytes.slice();
    copy[i]! ^= mask;
    yield [i, copy];
  }
}

/** Every strict prefix of `bytes`, shortest first. */
export function* truncations(bytes: Uint8Array): Generator<Uint8Array> {
  for (let n = 0; n < bytes.length; n++) yield bytes.slice(0, n);
}

/** `bytes` with one extra byte appended. */
export function extended(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The `code` of a thrown error, or `'none'` when `fn` succeeds. */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'none';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `uncoded ${String(error)}`;
  }
}
