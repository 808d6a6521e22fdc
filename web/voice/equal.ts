/** Equality tests for `Value.set`, so listeners hear only real changes. */

/** Same keys with `Object.is`-equal values. */
export function sameRecord<T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => key in b && Object.is(a[key], b[key]));
}
