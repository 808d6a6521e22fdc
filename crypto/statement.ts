/**
 * Domain-separated, unambiguous encoding of what gets signed or bound as AEAD
 * associated data. Never sign a raw concatenation: two different field lists
 * must never encode to the same bytes.
 *
 *   statement = 0x01 (encoding version) ‖ lp(utf8(context)) ‖ field*
 *   field     = tag (u8) ‖ lp(value)
 *   tag       = 0x01 bytes | 0x02 UTF-8 string | 0x03 unsigned integer (u64 BE)
 *   lp(x)     = u32 BE length of x ‖ x
 *
 * The context names the purpose and version, e.g. `tincan/auth/v1`.
 */
import { astring, concat, u32, u64, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';

export type Field = Uint8Array | string | number;

const STATEMENT_VERSION = 1;
const TAG_BYTES = 1;
const TAG_STRING = 2;
const TAG_UINT = 3;

export function encodeStatement(context: string, fields: readonly Field[]): Uint8Array {
  astring(context, 'context', 256);
  if (!/^[a-z0-9][a-z0-9/_.-]*$/.test(context)) {
    throw new CryptoError(
      'BAD_INPUT',
      `context must be lowercase [a-z0-9/_.-], got ${JSON.stringify(context)}`,
    );
  }
  const parts: Uint8Array[] = [new Uint8Array([STATEMENT_VERSION]), lp(utf8(context))];
  fields.forEach((field, i) => {
    if (field instanceof Uint8Array) parts.push(new Uint8Array([TAG_BYTES]), lp(field));
    else if (typeof field === 'string') parts.push(new Uint8Array([TAG_STRING]), lp(utf8(field)));
    else if (typeof field === 'number') parts.push(new Uint8Array([TAG_UINT]), lp(u64(field)));
    else throw new CryptoError('BAD_INPUT', `field ${i} must be bytes, string or a non-negative integer`);
  });
  return concat(...parts);
}

function lp(value: Uint8Array): Uint8Array {
  return concat(u32(value.length), value);
}
