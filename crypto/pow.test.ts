import { equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { fromHex } from './bytes.ts';
import { checkPow, leadingZeroBits, solvePow } from './pow.ts';

describe('proof of work', () => {
  it('counts leading zero bits', () => {
    equal(leadingZeroBits(fromHex('ff')), 0);
    equal(leadingZeroBits(fromHex('01')), 7);
    equal(leadingZeroBits(fromHex('0080')), 8);
    equal(leadingZeroBits(fromHex('000001')), 23);
    equal(leadingZeroBits(fromHex('0000')), 16);
  });

  it('solves and verifies at a small difficulty; a wrong solution fails', () => {
    const challenge = fromHex('00112233445566778899aabbccddeeff');
    const solution = solvePow(challenge, 12);
    ok(solution, 'expected a solution within the bound');
    ok(checkPow(challenge, solution, 12));
    // The same solution for another challenge is (with overwhelming likelihood) not one.
    ok(
      !checkPow(fromHex('ff112233445566778899aabbccddeeff'), solution, 12) ||
        !checkPow(challenge, solution, 20),
    );
    ok(!checkPow(challenge, new Uint8Array(33), 0), 'oversized solutions are refused');
  });

  it('rejects bad inputs with BAD_INPUT', () => {
    throwsCode(() => checkPow('x' as unknown as Uint8Array, new Uint8Array(1), 1), 'BAD_INPUT');
    throwsCode(() => checkPow(new Uint8Array(1), new Uint8Array(1), 99), 'BAD_INPUT');
  });
});
