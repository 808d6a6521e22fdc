/**
 * Runtime validation of parsed JSON, in lib0's style: tiny composable checkers
 * that narrow `unknown` to a typed value or report the path of the first bad field.
 *
 * Why our own and not zod/valibot: every inbound frame of the signal server and the
 * relay goes through these on the hot path, and the web bundle carries them too. A
 * checker here is one closure call per field with no intermediate objects on
 * success (objects are checked in place and returned as-is, after rejecting unknown
 * keys), ~150 lines with no dependency; zod adds ~50 KB to the bundle and allocates
 * per parse. The cost is that we maintain it, which these few lines allow.
 */

/**
 * A checker narrows or throws. Checkers validate; they do not convert: `object` and
 * `array` return their input as-is (no copy on the hot path), so a checker that
 * returned a converted value inside them would be ignored. Convert after validating.
 */
export type Check<T> = (value: unknown, path: string) => T;

/** Thrown by a checker; caught by `validate`, which turns it into a result. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path || 'value'}: expected ${expected}`);
  }
}

export type Infer<C> = C extends Check<infer T> ? T : never;

export type Result<T> = { ok: true; value: T } | { ok: false; error: ValidationError };

export function validate<T>(check: Check<T>, value: unknown): Result<T> {
  try {
    return { ok: true, value: check(value, '') };
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false, error };
    throw error;
  }
}

const fail = (path: string, expected: string): never => {
  throw new ValidationError(path, expected);
};

export function string(opts: { min?: number; max: number; pattern?: RegExp }): Check<string> {
  const { min = 0, max, pattern } = opts;
  const what = `string of length ${min}..${max}${pattern ? ` matching ${pattern}` : ''}`;
  return (v, p) =>
    typeof v === 'string' && v.length >= min && v.length <= max && (!pattern || pattern.test(v))
      ? v
      : fail(p, what);
}

export function int(opts: { min: number; max: number }): Check<number> {
  const { min, max } = opts;
  const what = `integer in ${min}..${max}`;
  return (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(p, what));
}

export const boolean: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean'));

export function literal<const T extends string | number | boolean>(expected: T): Check<T> {
  return (v, p) => (v === expected ? expected : fail(p, JSON.stringify(expected)));
}

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  const set: ReadonlySet<unknown> = new Set(values);
  const what = `one of ${values.join('|')}`;
  return (v, p) => (set.has(v) ? (v as T) : fail(p, what));
}

export function array<T>(item: Check<T>, opts: { max: number; min?: number }): Check<T[]> {
  const { max, min = 0 } = opts;
  return (v, p) => {
    if (!Array.isArray(v) || v.length < min || v.length > max)
      return fail(p, `array of ${min}..${max} items`);
    for (let i = 0; i < v.length; i++) item(v[i], `${p}[${i}]`);
    return v as T[];
  };
}

export function optional<T>(check: Check<T>): Check<T | undefined> & { optional: true } {
  const c = ((v, p) => (v === undefined ? undefined : check(v, p))) as Check<T | undefined> & {
    optional: true;
  };
  c.optional = true;
  return c;
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, p) => (v === null ? null : check(v, p));
}

/** Any JSON value, bounded in depth; for opaque payloads (signaling data) the server only forwards. */
export function opaque(maxDepth = 16): Check<unknown> {
  const walk = (v: unknown, depth: number, p: string): void => {
    if (depth > maxDepth) fail(p, `JSON nested at most ${maxDepth} deep`);
    if (v !== null && typeof v === 'object') {
      for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child, depth + 1, p);
    }
  };
  return (v, p) => {
    if (v === undefined) return fail(p, 'a value');
    walk(v, 0, p);
    return v;
  };
}

type Shape = Record<string, Check<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Obj<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

/** An object with exactly these keys (optional ones may be absent); unknown keys are rejected. */
export function object<S extends Shape>(shape: S): Check<Obj<S>> {
  const keys = Object.keys(shape);
  const known: ReadonlySet<string> = new Set(keys);
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
    const o = v as Record<string, unknown>;
    for (const k of keys) shape[k]!(o[k], p ? `${p}.${k}` : k);
    for (const k in o) if (!known.has(k)) fail(p ? `${p}.${k}` : k, 'no such field');
    return o as Obj<S>;
  };
}

/**
 * A tagged union keyed by `field` (e.g. `type`): picks the variant's checker from
 * the tag, so an unknown tag fails with the list of known ones.
 */
export function tagged<const F extends string, M extends Record<string, Check<unknown>>>(
  field: F,
  variants: M,
): Check<Infer<M[keyof M]>> {
  const tags = Object.keys(variants);
  const what = `${field} one of ${tags.join('|')}`;
  return (v, p) => {
    if (typeof v !== 'object' || v === null) return fail(p, 'object');
    const tag = (v as Record<string, unknown>)[field];
    if (typeof tag !== 'string' || !Object.hasOwn(variants, tag))
      return fail(p ? `${p}.${field}` : field, what);
    return variants[tag]!(v, p) as Infer<M[keyof M]>;
  };
}

/** base64url (unpadded) string whose decoded length is in [min, max] bytes. */
export function base64url(opts: { min?: number; max: number }): Check<string> {
  const { min = 0, max } = opts;
  const maxChars = Math.ceil((max * 4) / 3);
  const minChars = Math.ceil((min * 4) / 3);
  return string({ min: minChars, max: maxChars, pattern: /^[A-Za-z0-9_-]*$/ });
}
