import { equal, notEqual, throwsCode } from '../test/helpers/assert.ts';
import { toHex } from './bytes.ts';
import { encodeStatement } from './statement.ts';

describe('encodeStatement', () => {
  it('encodes fields with tags and lengths (golden)', () => {
    const bytes = encodeStatement('tincan/test/v1', [new Uint8Array([1, 2]), 'hé', 7]);
    equal(
      toHex(bytes),
      '01' +
        '0000000e' +
        toHex(new TextEncoder().encode('tincan/test/v1')) +
        '01' +
        '00000002' +
        '0102' +
        '02' +
        '00000003' +
        '68c3a9' +
        '03' +
        '00000008' +
        '0000000000000007',
    );
  });

  it('never encodes two different field lists the same way', () => {
    const a = encodeStatement('tincan/test/v1', ['ab', 'c']);
    const b = encodeStatement('tincan/test/v1', ['a', 'bc']);
    const c = encodeStatement('tincan/test/v1', ['abc']);
    const d = encodeStatement('tincan/test/v1', [new TextEncoder().encode('abc')]);
    const set = new Set([a, b, c, d].map(toHex));
    equal(set.size, 4, 'expected four distinct encodings');
    notEqual(toHex(encodeStatement('tincan/a/v1', [])), toHex(encodeStatement('tincan/b/v1', [])));
  });

  it('rejects bad contexts and field types with BAD_INPUT', () => {
    throwsCode(() => encodeStatement('', []), 'BAD_INPUT');
    throwsCode(() => encodeStatement('Has Space', []), 'BAD_INPUT');
    throwsCode(() => encodeStatement('tincan/x', [-1]), 'BAD_INPUT');
    throwsCode(() => encodeStatement('tincan/x', [1.5]), 'BAD_INPUT');
    throwsCode(() => encodeStatement('tincan/x', [null as unknown as string]), 'BAD_INPUT');
  });
});
