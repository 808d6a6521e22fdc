/**
 * The first steps every inbound text frame takes, in order: size check, then
 * `JSON.parse` in a try, then a validator. Returns a typed message or a
 * `ProtocolError` (BAD_MESSAGE / TOO_LARGE); never throws on input.
 */
import { ProtocolError } from './errors.ts';
import { type Check, validate } from './validate.ts';

export function parseFrame<T>(text: string, limitBytes: number, check: Check<T>): T | ProtocolError {
  // A UTF-16 length over the limit is over it in UTF-8 too (each unit is ≥ 1 byte);
  // the exact byte length is only computed when it could matter.
  if (text.length > limitBytes) return ProtocolError.tooLarge(text.length, limitBytes);
  if (text.length * 3 > limitBytes) {
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > limitBytes) return ProtocolError.tooLarge(bytes, limitBytes);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return ProtocolError.badMessage('not JSON');
  }
  const result = validate(check, parsed);
  if (result.ok) return result.value;
  const ref = refOf(parsed);
  return ProtocolError.badMessage(result.error.message, ref);
}

/** The request id of a parsed but invalid message, so the error can still name it. */
function refOf(parsed: unknown): number | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const ref = (parsed as { ref?: unknown }).ref;
  return typeof ref === 'number' && Number.isSafeInteger(ref) ? ref : undefined;
}
