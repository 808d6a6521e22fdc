/**
 * Seeded mutators for the hostile-input fuzzer: a small PRNG (mulberry32) and
 * byte, text and JSON mutations of valid seed inputs. Everything here is a pure
 * function of the PRNG's state, so a (seed, target, iteration) triple replays one
 * input exactly. No dependency: the operations are the classic AFL/libFuzzer set.
 */
import { mulberry32 } from '../helpers/random.ts';

/** mulberry32: 32-bit state, good enough for choosing mutations, not for keys. */
export class Rng {
  /** A uniform unsigned 32-bit integer. */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x100000000) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** FNV-1a over a string, to derive per-target, per-iteration seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The PRNG of one iteration: replayable on its own from (seed, target, iteration). */
export function iterationRng(seed: number, target: string, iteration: number): Rng {
  return new Rng(hashString(`${seed >>> 0}/${target}/${iteration}`));
}

/** Seed from FUZZ_SEED (decimal or 0x-hex), else `fallback`. */
export function seedFromEnv(fallback: number): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return fallback >>> 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return n >>> 0;
}

// ---- bytes ---------------------------------------------------------------------

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x20, 0x21, 0x7e] as const;
const BOUNDARY_U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
] as const;

export interface ByteHints {
  /** Lengths the format cares about (limits, fixed sizes): extension aims near them. */
  readonly lengths?: readonly number[];
}

type ByteOp = (rng: Rng, b: Uint8Array, others: readonly Uint8Array[], hints: ByteHints) => Uint8Array;

const byteOps: readonly ByteOp[] = [
  // bit flip
  (rng, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[rng.int(out.length)]! ^= 1 << rng.int(8);
    return out;
  },
  // byte replacement: random or boundary
  (rng, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(BOUNDARY_BYTES) : rng.next() & 0xff;
    return out;
  },
  // big-endian u32 overwrite with a boundary value
  (rng, b) => {
    if (b.length < 4) return b;
    const out = b.slice();
    new DataView(out.buffer).setUint32(rng.int(out.length - 3), rng.pick(BOUNDARY_U32));
    return out;
  },
  // insertion of 1–16 random or repeated boundary bytes
  (rng, b) => {
    const n = rng.range(1, 16);
    const ins = rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(BOUNDARY_BYTES));
    const at = rng.int(b.length + 1);
    return concat(b.subarray(0, at), ins, b.subarray(at));
  },
  // deletion of a range
  (rng, b) => {
    if (b.length === 0) return b;
    const at = rng.int(b.length);
    const n = rng.range(1, Math.min(32, b.length - at));
    return concat(b.subarray(0, at), b.subarray(at + n));
  },
  // truncation
  (rng, b) => b.slice(0, rng.int(b.length + 1)),
  // extension: a few bytes, or up to / just past a length the format cares about
  (rng, b, _o, hints) => {
    const targets = hints.lengths ?? [];
    let length = b.length + rng.range(1, 8);
    if (targets.length > 0 && rng.chance(0.6)) length = Math.max(0, rng.pick(targets) + rng.range(-2, 2));
    if (length <= b.length) return b.slice(0, length);
    const out = new Uint8Array(length);
    out.set(b);
    if (rng.chance(0.5)) out.set(rng.bytes(length - b.length), b.length);
    return out;
  },
  // splice: a prefix of this input and a suffix of another
  (rng, b, others) => {
    const other = others.length > 0 ? rng.pick(others) : b;
    return concat(b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1)));
  },
  // duplicate a chunk in place
  (rng, b) => {
    if (b.length === 0) return b;
    const at = rng.int(b.length);
    const n = rng.range(1, Math.min(64, b.length - at));
    const chunk = b.subarray(at, at + n);
    return concat(b.subarray(0, at + n), chunk, b.subarray(at + n));
  },
  // copy a range from another input over the same offsets
  (rng, b, others) => {
    const other = others.length > 0 ? rng.pick(others) : b;
    const out = b.slice();
    const at = rng.int(Math.min(out.length, other.length) + 1);
    const n = rng.int(Math.min(out.length, other.length) - at + 1);
    out.set(other.subarray(at, at + n), at);
    return out;
  },
  // empty, or one boundary byte
  (rng) => (rng.chance(0.5) ? new Uint8Array(0) : Uint8Array.of(rng.pick(BOUNDARY_BYTES))),
];

/** 1–4 stacked byte mutations of `input` (never mutated in place). */
export function mutateBytes(
  rng: Rng,
  input: Uint8Array,
  others: readonly Uint8Array[] = [],
  hints: ByteHints = {},
): Uint8Array {
  let out = input;
  const rounds = rng.chance(0.6) ? 1 : rng.range(2, 4);
  for (let i = 0; i < rounds; i++) out = rng.pick(byteOps)(rng, out, others, hints);
  return out === input ? input.slice() : out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- text ----------------------------------------------------------------------

/** Strings that break naive parsers: quotes, escapes, controls, lone surrogates, bidi, NUL. */
const NASTY_TEXT = [
  '"',
  '\\',
  '\\u0000',
  '\\ud800',
  '\u0000',
  '\ud800',
  '\udfff',
  '\u202e',
  '\ufeff',
  '👋',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  'null',
  'true',
  '-0',
  '1e999',
  'NaN',
  '9007199254740993',
  ' ',
  '\n',
  '\t',
] as const;

type TextOp = (rng: Rng, t: string, others: readonly string[]) => string;

const textOps: readonly TextOp[] = [
  (rng, t) => {
    const at = rng.int(t.length + 1);
    return t.slice(0, at) + rng.pick(NASTY_TEXT) + t.slice(at);
  },
  (rng, t) => {
    if (t.length === 0) return t;
    const at = rng.int(t.length);
    return t.slice(0, at) + t.slice(at + rng.range(1, 8));
  },
  (rng, t) => t.slice(0, rng.int(t.length + 1)),
  (rng, t) => {
    if (t.length === 0) return t;
    const at = rng.int(t.length);
    return t.slice(0, at) + String.fromCharCode(t.charCodeAt(at) ^ (1 << rng.int(16))) + t.slice(at + 1);
  },
  (rng, t, others) => {
    const other = others.length > 0 ? rng.pick(others) : t;
    return t.slice(0, rng.int(t.length + 1)) + other.slice(rng.int(other.length + 1));
  },
  (rng, t) => {
    if (t.length === 0) return t;
    const at = rng.int(t.length);
    const chunk = t.slice(at, at + rng.range(1, 16));
    return t.slice(0, at) + chunk.repeat(rng.range(2, 64)) + t.slice(at);
  },
  // replace one number token with an edge number spelling
  (rng, t) => {
    const spots = [...t.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
    if (spots.length === 0) return t;
    const m = rng.pick(spots);
    const edge = rng.pick([
      '-0',
      '0.0',
      '1e999',
      '-1e999',
      '1e-400',
      '9007199254740993',
      '1.5',
      '00',
      '0x10',
      '-1',
    ]);
    return t.slice(0, m.index) + edge + t.slice(m.index + m[0].length);
  },
];

/** 1–3 stacked text mutations. */
export function mutateText(rng: Rng, input: string, others: readonly string[] = []): string {
  let out = input;
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds; i++) out = rng.pick(textOps)(rng, out, others);
  return out;
}

// ---- JSON ----------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  5e-324,
  Number.EPSILON,
] as const;

const EDGE_STRINGS = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '0',
  '1e309',
  '0x1f',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  '\u0000',
  '\ud800',
  '\u202e',
  '👋👋',
  'a'.repeat(33),
  'A'.repeat(22),
  'A'.repeat(44),
  'A'.repeat(86),
  'dm:a:b',
  'general',
  '../../etc/passwd',
] as const;

const FIELD_NAMES = [
  'type',
  'ref',
  '__proto__',
  'constructor',
  'prototype',
  'extra',
  'kind',
  'data',
  '',
] as const;

/** A random JSON value of any type, `depth` levels at most. */
export function randomJson(rng: Rng, depth = 3): Json {
  switch (rng.int(depth > 0 ? 9 : 6)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.chance(0.7) ? rng.pick(EDGE_NUMBERS) : (rng.next() | 0) / (rng.chance(0.5) ? 1 : 7);
    case 3:
      return rng.pick(EDGE_STRINGS);
    case 4:
      return hugeString(rng);
    case 5:
      return String.fromCharCode(...Array.from({ length: rng.int(40) }, () => rng.int(0x10000)));
    case 6:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth - 1));
    case 7: {
      const o: { [key: string]: Json } = {};
      for (let i = rng.int(5); i > 0; i--)
        o[rng.pick(FIELD_NAMES) + (rng.chance(0.5) ? '' : i)] = randomJson(rng, depth - 1);
      return o;
    }
    default:
      return deepNest(rng);
  }
}

/** Strings around the validators' limits (64, 128, 512, 64 Ki, 1 Mi), sometimes base64url-only. */
function hugeString(rng: Rng): string {
  const length = rng.pick([
    63,
    64,
    65,
    128,
    129,
    256,
    257,
    512,
    513,
    1024,
    8193,
    65536,
    65537,
    1 << 20,
    (1 << 20) + 1,
  ]);
  return rng.pick(['A', 'z', '-', '=', ' ', '\u00e9']).repeat(length);
}

/** Arrays or objects nested 10–2000 deep (the opaque checker allows 24). */
function deepNest(rng: Rng): Json {
  let v: Json = rng.chance(0.5) ? 1 : 'x';
  const depth = rng.pick([15, 16, 17, 24, 25, 26, 200, 2000]);
  const arrays = rng.chance(0.5);
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

type Path = (string | number)[];

/** Every path to a value inside `v`, the root included, at most `limit` of them. */
function paths(v: Json, prefix: Path = [], out: Path[] = [], limit = 256): Path[] {
  if (out.length >= limit) return out;
  out.push(prefix);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) paths(v[i]!, [...prefix, i], out, limit);
  } else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) paths(v[k]!, [...prefix, k], out, limit);
  return out;
}

function getAt(v: Json, path: Path): Json {
  let cur = v;
  for (const k of path) cur = (cur as Record<string | number, Json>)[k]!;
  return cur;
}

/** A structural JSON mutation (drop/add a field, replace a value, wrap, nest, swap with another seed's). */
export function mutateJson(rng: Rng, input: Json, others: readonly Json[] = []): Json {
  const root: Json = structuredClone(input);
  const rounds = rng.chance(0.7) ? 1 : rng.range(2, 3);
  let out = root;
  for (let i = 0; i < rounds; i++) out = mutateJsonOnce(rng, out, others);
  return out;
}

function mutateJsonOnce(rng: Rng, root: Json, others: readonly Json[]): Json {
  const all = paths(root);
  const path = rng.pick(all);
  const value = getAt(root, path);
  const replace = (next: Json): Json => {
    if (path.length === 0) return next;
    const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
    parent[path[path.length - 1]!] = next;
    return root;
  };
  switch (rng.int(8)) {
    case 0: {
      // drop a field or an item
      if (path.length === 0) return rng.chance(0.5) ? {} : randomJson(rng);
      const parent = getAt(root, path.slice(0, -1));
      const key = path[path.length - 1]!;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key];
      return root;
    }
    case 1: {
      // add a field (or item)
      if (Array.isArray(value)) value.push(randomJson(rng));
      else if (value !== null && typeof value === 'object') {
        const name = rng.chance(0.5) ? rng.pick(FIELD_NAMES) : rng.pick(Object.keys(value).concat('x'));
        Object.defineProperty(value, name, {
          value: randomJson(rng),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      } else return replace({ v: value });
      return root;
    }
    case 2:
      return replace(randomJson(rng));
    case 3:
      // same type, edge value
      if (typeof value === 'number') return replace(rng.pick(EDGE_NUMBERS));
      if (typeof value === 'string')
        return replace(rng.chance(0.5) ? rng.pick(EDGE_STRINGS) : hugeString(rng));
      if (typeof value === 'boolean') return replace(!value);
      return replace(randomJson(rng));
    case 4:
      return replace(rng.chance(0.5) ? [value] : { value });
    case 5:
      return replace(deepNest(rng));
    case 6: {
      // a value from another seed at a random path
      const other = others.length > 0 ? rng.pick(others) : root;
      return replace(structuredClone(getAt(other, rng.pick(paths(other)))));
    }
    default:
      // string edits inside a string value
      if (typeof value === 'string') return replace(mutateText(rng, value));
      return replace(randomJson(rng, 1));
  }
}

/**
 * JSON text for `value`, sometimes with a key repeated or a raw token that
 * `JSON.stringify` cannot write (duplicate keys, `-0`, `1e400`).
 */
export function jsonText(rng: Rng, value: Json): string {
  const text = JSON.stringify(value) ?? 'null';
  if (rng.chance(0.2)) return mutateText(rng, text);
  if (rng.chance(0.1) && text.startsWith('{"')) return `{"type":"ping",${text.slice(1)}`; // duplicate key
  return text;
}
