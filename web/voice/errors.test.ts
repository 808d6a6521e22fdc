/** Browser media errors (DOMException names) mapped to VoiceError codes. */
import assert from 'node:assert/strict';
import { mediaError, VoiceError } from './errors.ts';

describe('voice errors', () => {
  it('maps each DOMException name to a code, per capture kind', () => {
    const cases: [string, Parameters<typeof mediaError>[1], string][] = [
      ['NotAllowedError', 'microphone', 'MIC_DENIED'],
      ['SecurityError', 'microphone', 'MIC_DENIED'],
      ['NotAllowedError', 'screen', 'SCREEN_DENIED'],
      ['NotAllowedError', 'camera', 'CAMERA_DENIED'],
      ['NotAllowedError', 'output', 'NOT_SUPPORTED'],
      ['NotFoundError', 'microphone', 'NO_DEVICE'],
      ['OverconstrainedError', 'camera', 'NO_DEVICE'],
      ['NotFoundError', 'output', 'NO_DEVICE'],
      ['NotReadableError', 'microphone', 'DEVICE_BUSY'],
      ['AbortError', 'screen', 'DEVICE_BUSY'],
      ['NotSupportedError', 'screen', 'NOT_SUPPORTED'],
      ['SomethingNew', 'microphone', 'DEVICE_BUSY'],
    ];
    for (const [name, kind, code] of cases) {
      const cause = new DOMException('browser says no', name);
      const error = mediaError(cause, kind);
      assert.ok(error instanceof VoiceError, `${name} gives a VoiceError`);
      assert.equal(error.code, code, `${name} for ${kind} is ${code}`);
      assert.equal(error.cause, cause, 'the browser error is kept as cause');
      assert.ok(error.message.startsWith(`${code}: `), 'the message leads with the code');
    }
    assert.equal(mediaError(new TypeError('no'), 'microphone').code, 'NOT_SUPPORTED', 'TypeError');
    assert.equal(mediaError('weird', 'microphone').code, 'DEVICE_BUSY', 'a non-error value');
  });

  it('passes a VoiceError through and has factories', () => {
    const original = new VoiceError('NO_DEVICE', 'gone');
    assert.equal(mediaError(original, 'camera'), original, 'unchanged');
    assert.equal(VoiceError.notJoined('playFile').code, 'NOT_JOINED', 'notJoined');
    assert.equal(VoiceError.badArgument('volume', 'too loud').code, 'BAD_ARGUMENT', 'badArgument');
    assert.equal(original.name, 'VoiceError', 'name');
  });
});
