/**
 * A small isomorphic assert for tests that run in Node and in Chromium. Every
 * failure says what was expected and what came instead.
 */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const hex = Array.from(value.subarray(0, 48), (b) => b.toString(16).padStart(2, '0')).join('');
    return `Uint8Array(${value.length})[${hex}${value.length > 48 ? '…' : ''}]`;
  }
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(message: string | undefined, detail: string): never {
  throw new AssertionError(message ? `${message}: ${detail}` : detail);
}

export function ok(value: unknown, message?: string): asserts value {
  if (!value) fail(message, `expected a truthy value, got ${show(value)}`);
}

export function equal<T>(actual: T, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
}

export function notEqual<T>(actual: T, unexpected: T, message?: string): void {
  if (Object.is(actual, unexpected)) fail(message, `expected anything but ${show(unexpected)}`);
}

function deepEq(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (!deepEq(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
}

/** Expects `fn` to throw an error whose `code` is `code`; returns the error. */
export function throwsCode(fn: () => unknown, code: string, message?: string): Error {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    const got = (error as { code?: unknown }).code;
    if (got !== code)
      fail(message, `expected an error with code ${code}, got ${show(got)} (${String(error)})`);
    return error as Error;
  }
  if (result instanceof Promise) fail(message, 'function returned a promise: use rejectsCode');
  return fail(message, `expected an error with code ${code}, but nothing was thrown`);
}

/** Expects the promise (or async function) to reject with an error whose `code` is `code`. */
export async function rejectsCode(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  message?: string,
): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    const got = (error as { code?: unknown }).code;
    if (got !== code)
      fail(message, `expected a rejection with code ${code}, got ${show(got)} (${String(error)})`);
    return error as Error;
  }
  return fail(message, `expected a rejection with code ${code}, but it resolved`);
}
