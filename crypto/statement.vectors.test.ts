/** Golden vectors for encodeStatement (test/vectors/statement.json): a change of encoding breaks them. */
import { equal } from '../test/helpers/assert.ts';
import vectors from '../test/vectors/statement.json' with { type: 'json' };
import { fromHex, toHex } from './bytes.ts';
import { encodeStatement, type Field } from './statement.ts';

function fieldOf(f: { bytes?: string; string?: string; uint?: number }): Field {
  if (f.bytes !== undefined) return fromHex(f.bytes);
  if (f.string !== undefined) return f.string;
  if (f.uint !== undefined) return f.uint;
  throw new Error('empty field in vector');
}

describe('encodeStatement vectors', () => {
  it(`match test/vectors/statement.json (${vectors.cases.length} cases)`, () => {
    for (const v of vectors.cases)
      equal(
        toHex(encodeStatement(v.context, v.fields.map(fieldOf))),
        v.encoded,
        `${v.context} ${v.fields.length}`,
      );
  });
});
