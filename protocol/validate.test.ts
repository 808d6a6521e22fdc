import { deepEqual, equal, ok } from '../test/helpers/assert.ts';
import {
  array,
  base64url,
  boolean,
  int,
  literal,
  nullable,
  object,
  oneOf,
  opaque,
  optional,
  string,
  tagged,
  validate,
} from './validate.ts';

function rejects(check: Parameters<typeof validate>[0], value: unknown, path: string): void {
  const r = validate(check, value);
  ok(!r.ok, `expected ${JSON.stringify(value)} to be rejected`);
  equal(r.error.path, path, `failing path for ${JSON.stringify(value)}`);
}

describe('validators', () => {
  it('string: length bounds and pattern', () => {
    const s = string({ min: 1, max: 3, pattern: /^[a-z]+$/ });
    ok(validate(s, 'abc').ok);
    for (const bad of ['', 'abcd', 'AB', 1, null, undefined, {}, []]) rejects(s, bad, '');
  });

  it('int: integers in range only', () => {
    const n = int({ min: 0, max: 10 });
    ok(validate(n, 10).ok);
    for (const bad of [-1, 11, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', null, true])
      rejects(n, bad, '');
  });

  it('boolean, literal, oneOf, nullable', () => {
    ok(validate(boolean, false).ok);
    rejects(boolean, 0, '');
    ok(validate(literal('x'), 'x').ok);
    rejects(literal('x'), 'y', '');
    ok(validate(oneOf(['a', 'b']), 'b').ok);
    rejects(oneOf(['a', 'b']), 'c', '');
    ok(validate(nullable(int({ min: 0, max: 1 })), null).ok);
    rejects(nullable(int({ min: 0, max: 1 })), undefined, '');
  });

  it('array: bounds and item paths', () => {
    const a = array(int({ min: 0, max: 9 }), { max: 2 });
    ok(validate(a, [1, 2]).ok);
    rejects(a, [1, 2, 3], '');
    rejects(a, [1, 'x'], '[1]');
    rejects(a, { length: 1, 0: 1 }, '');
  });

  it('object: exact keys, optional fields, nested paths', () => {
    const o = object({ a: int({ min: 0, max: 9 }), b: optional(object({ c: string({ max: 2 }) })) });
    const r = validate(o, { a: 1 });
    ok(r.ok);
    deepEqual(r.value, { a: 1 });
    ok(validate(o, { a: 1, b: { c: 'xy' } }).ok);
    rejects(o, { a: 1, b: { c: 'xyz' } }, 'b.c');
    rejects(o, { a: 1, z: 2 }, 'z');
    rejects(o, { b: { c: '' } }, 'a');
    rejects(o, null, '');
    rejects(o, [1], '');
  });

  it('tagged: dispatches on the tag and names the known tags', () => {
    const t = tagged('type', {
      ping: object({ type: literal('ping') }),
      say: object({ type: literal('say'), text: string({ max: 5 }) }),
    });
    ok(validate(t, { type: 'ping' }).ok);
    ok(validate(t, { type: 'say', text: 'hi' }).ok);
    rejects(t, { type: 'nope' }, 'type');
    rejects(t, { type: 'toString' }, 'type');
    rejects(t, { type: 'say', text: 7 }, 'text');
    const r = validate(t, { type: 'nope' });
    ok(!r.ok && r.error.message.includes('ping|say'), 'error lists the known tags');
  });

  it('opaque: any JSON value within the depth bound', () => {
    ok(validate(opaque(3), { a: [1, { b: 2 }] }).ok);
    let deep: unknown = 1;
    for (let i = 0; i < 10; i++) deep = [deep];
    rejects(opaque(3), deep, '');
    rejects(opaque(3), undefined, '');
  });

  it('base64url: alphabet and decoded length', () => {
    const b = base64url({ min: 33, max: 33 });
    ok(validate(b, 'A'.repeat(44)).ok);
    rejects(b, 'A'.repeat(43), '');
    rejects(b, `${'A'.repeat(43)}+`, '');
  });
});
