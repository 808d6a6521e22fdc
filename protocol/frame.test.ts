import { equal, ok } from '../test/helpers/assert.ts';
import { ProtocolError } from './errors.ts';
import { parseFrame } from './frame.ts';
import { literal, object, string } from './validate.ts';

const check = object({ type: literal('say'), text: string({ max: 100 }), ref: literal(7) });

function expectError(result: unknown, code: string, ref?: number): void {
  ok(result instanceof ProtocolError, `expected a ProtocolError ${code}, got ${JSON.stringify(result)}`);
  equal(result.code, code);
  equal(result.ref, ref);
}

describe('parseFrame', () => {
  it('returns the typed message for a valid frame', () => {
    const m = parseFrame('{"type":"say","text":"hi","ref":7}', 1000, check);
    ok(!(m instanceof ProtocolError));
    equal(m.text, 'hi');
  });

  it('rejects oversized frames before parsing, counting UTF-8 bytes', () => {
    expectError(parseFrame('x'.repeat(1001), 1000, check), 'TOO_LARGE');
    // 400 three-byte characters: 400 UTF-16 units but 1,200 UTF-8 bytes.
    expectError(parseFrame(`"${'€'.repeat(400)}"`, 1000, check), 'TOO_LARGE');
  });

  it('rejects non-JSON, wrong types and unknown fields as BAD_MESSAGE', () => {
    expectError(parseFrame('{"type":', 1000, check), 'BAD_MESSAGE');
    expectError(parseFrame('', 1000, check), 'BAD_MESSAGE');
    expectError(parseFrame('[]', 1000, check), 'BAD_MESSAGE');
    expectError(parseFrame('{"type":"say","text":1,"ref":7}', 1000, check), 'BAD_MESSAGE', 7);
    expectError(parseFrame('{"type":"say","text":"a","ref":7,"x":1}', 1000, check), 'BAD_MESSAGE', 7);
  });

  it('maps fatal codes to 4xxx close codes', () => {
    equal(new ProtocolError('AUTH_FAILED', 'x').closeCode, 4401);
    equal(new ProtocolError('NOT_FOUND', 'x').closeCode, undefined);
  });
});
