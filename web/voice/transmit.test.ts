/** When the engine transmits, and which track it sends, for every mode and state. */
import assert from 'node:assert/strict';
import { decideTransmit, type InputMode, type TransmitInputs } from './transmit.ts';

const base: TransmitInputs = {
  mode: 'open-mic',
  muted: false,
  deafened: false,
  pressed: false,
  voiceActive: false,
  filePlaying: false,
  fileMode: 'mix',
};
const decide = (change: Partial<TransmitInputs>) => decideTransmit({ ...base, ...change });

describe('transmit decision', () => {
  it('opens the mic per mode', () => {
    const cases: [InputMode, Partial<TransmitInputs>, boolean][] = [
      ['open-mic', {}, true],
      ['push-to-talk', {}, false],
      ['push-to-talk', { pressed: true }, true],
      ['push-to-talk', { voiceActive: true }, false],
      ['voice-activity', {}, false],
      ['voice-activity', { voiceActive: true }, true],
      ['voice-activity', { pressed: true }, false],
    ];
    for (const [mode, change, expected] of cases) {
      const decision = decide({ mode, ...change });
      assert.equal(decision.audible, expected, `${mode} ${JSON.stringify(change)} is heard: ${expected}`);
      assert.equal(
        decision.micOpen,
        expected,
        `${mode} ${JSON.stringify(change)} opens the mic: ${expected}`,
      );
      if (mode === 'voice-activity') {
        // Silence between words keeps the far side's jitter buffer primed (see transmit.ts).
        assert.equal(decision.transmitting, true, 'voice activity keeps the senders carrying the mic');
        assert.equal(decision.source, 'mic', 'the mic track itself, its gate shut by disabling it');
        assert.equal(decision.micInMix, false, 'nothing goes through the mix without a file');
      } else {
        assert.equal(
          decision.transmitting,
          expected,
          `${mode} ${JSON.stringify(change)} sends packets: ${expected}`,
        );
        assert.equal(decision.source, 'mic', 'no file: the mic track');
      }
    }
  });

  it('sends nothing while muted or deafened, whatever the mode or file', () => {
    for (const mode of ['open-mic', 'push-to-talk', 'voice-activity'] as const)
      for (const silence of [{ muted: true }, { deafened: true }])
        for (const filePlaying of [false, true]) {
          const decision = decide({ mode, pressed: true, voiceActive: true, filePlaying, ...silence });
          assert.equal(
            decision.transmitting,
            false,
            `${mode} ${JSON.stringify(silence)} file ${filePlaying}`,
          );
          assert.equal(decision.micInMix, false, 'no mic in the mix either');
        }
  });

  it('sends the mix while a file plays, with the mic only when mixing and open', () => {
    const released = decide({ mode: 'push-to-talk', filePlaying: true });
    assert.deepEqual(
      released,
      { transmitting: true, source: 'mix', micInMix: false, micOpen: false, audible: true },
      'file, key up',
    );
    const held = decide({ mode: 'push-to-talk', filePlaying: true, pressed: true });
    assert.deepEqual(
      held,
      { transmitting: true, source: 'mix', micInMix: true, micOpen: true, audible: true },
      'file, key down',
    );
    const replaced = decide({ filePlaying: true, fileMode: 'replace' });
    assert.deepEqual(
      replaced,
      { transmitting: true, source: 'mix', micInMix: false, micOpen: false, audible: true },
      'replace',
    );
  });

  it('refuses an unknown mode', () => {
    assert.throws(() => decide({ mode: 'shout' as InputMode }), TypeError, 'unknown mode');
  });
});
