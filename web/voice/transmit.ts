/**
 * When the voice engine sends, and what: a pure decision from the person's
 * settings (mute, deafen, input mode, push-to-talk key) and the moment's facts
 * (is there speech on the mic, is a file playing). The session applies it: a
 * sender that should not transmit has its track replaced by null, so no packet
 * leaves at all (a disabled track would still send silence).
 */

/**
 * - `voice-activity`: the mic opens while speech is detected (with the hold time).
 * - `push-to-talk`: the mic opens while the key is held (`pressed(true)`).
 * - `open-mic`: the mic is always open unless muted.
 */
export type InputMode = 'voice-activity' | 'push-to-talk' | 'open-mic';

export const INPUT_MODES: readonly InputMode[] = ['voice-activity', 'push-to-talk', 'open-mic'];

/** Whether a playing file is heard together with the microphone or instead of it. */
export type FileMixMode = 'mix' | 'replace';

export interface TransmitInputs {
  mode: InputMode;
  muted: boolean;
  /** Deafened implies muted, as in Mumble and Discord. */
  deafened: boolean;
  /** The push-to-talk key is held. */
  pressed: boolean;
  /** The speaking detector on the local mic says speech (before any gate). */
  voiceActive: boolean;
  /** A file is playing into the channel (not paused). */
  filePlaying: boolean;
  fileMode: FileMixMode;
}

export interface TransmitDecision {
  /** Packets leave: the senders carry a track. */
  transmitting: boolean;
  /**
   * Which track the senders carry: the mic's own (enabled while `micOpen`, so a shut
   * gate sends silence), or the Web Audio mix (mic + file).
   */
  source: 'mic' | 'mix';
  /** In the mix, the mic is audible (the gate is open and the file does not replace it). */
  micInMix: boolean;
  /** The mic's gate is open (the mic, not a file, may be heard). */
  micOpen: boolean;
  /** Peers hear something: the mic's gate is open, or a file plays (what the UI calls "sending"). */
  audible: boolean;
}

function micGateOpen(inputs: TransmitInputs): boolean {
  switch (inputs.mode) {
    case 'open-mic':
      return true;
    case 'push-to-talk':
      return inputs.pressed;
    case 'voice-activity':
      return inputs.voiceActive;
    default: {
      const never: never = inputs.mode;
      throw new TypeError(`unknown input mode ${String(never)}`);
    }
  }
}

/**
 * Muted, deafened, or push-to-talk released: no packets at all. Voice activity is
 * different: between words the senders keep carrying the mic with its gate shut
 * (a disabled track sends silence), because a sender that stops and starts again
 * costs the far side ~250 ms before it plays the first word (measured in
 * bench/voice.bench.ts: 300 ms mouth → ear with the track swapped out between
 * bursts, 64 ms with it kept). The gate is the mic track's own `enabled`, not the
 * Web Audio mix, which would add its own hop to every word.
 */
export function decideTransmit(inputs: TransmitInputs): TransmitDecision {
  const silenced = inputs.muted || inputs.deafened;
  const micOpen = !silenced && micGateOpen(inputs);
  if (!inputs.filePlaying) {
    const transmitting = inputs.mode === 'voice-activity' ? !silenced : micOpen;
    return { transmitting, source: 'mic', micInMix: false, micOpen, audible: micOpen };
  }
  const micInMix = micOpen && inputs.fileMode === 'mix';
  return { transmitting: !silenced, source: 'mix', micInMix, micOpen: micInMix, audible: !silenced };
}
