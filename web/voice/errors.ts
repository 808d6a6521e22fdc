/**
 * The voice engine's one error type: a stable code the UI maps to a message, a
 * human-readable detail, and the browser's own error as `cause`.
 */

export type VoiceErrorCode =
  | 'MIC_DENIED' // the person (or a policy) refused microphone access
  | 'SCREEN_DENIED' // screen capture refused or cancelled in the picker
  | 'CAMERA_DENIED' // camera access refused
  | 'NO_DEVICE' // no such input or output device (or none at all)
  | 'DEVICE_BUSY' // the device exists but cannot be opened (in use, hardware error)
  | 'NOT_JOINED' // the call needs a joined session
  | 'ALREADY_JOINED' // join() on a session that is joined or joining
  | 'ABORTED' // leave() ran while join() or a capture was still in progress
  | 'BAD_AUDIO_FILE' // the blob does not decode as audio
  | 'AUTOPLAY_BLOCKED' // the browser holds audio back until the page gets a user gesture
  | 'BAD_ARGUMENT' // a volume, bitrate or mode out of range
  | 'NOT_SUPPORTED'; // this browser lacks the API (no mediaDevices, no setSinkId, …)

export class VoiceError extends Error {
  override readonly name = 'VoiceError';
  constructor(
    readonly code: VoiceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }

  static notJoined(what: string): VoiceError {
    return new VoiceError('NOT_JOINED', `${what} needs a joined voice session`);
  }

  static badArgument(name: string, detail: string): VoiceError {
    return new VoiceError('BAD_ARGUMENT', `${name} ${detail}`);
  }
}

/** What a capture was for; picks the "denied" code. */
export type CaptureKind = 'microphone' | 'screen' | 'camera';

const DENIED: Record<CaptureKind, VoiceErrorCode> = {
  microphone: 'MIC_DENIED',
  screen: 'SCREEN_DENIED',
  camera: 'CAMERA_DENIED',
};

const nameOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string'
    ? error.name
    : '';

/**
 * Maps a getUserMedia / getDisplayMedia / setSinkId rejection (a DOMException by
 * name) to a VoiceError. A VoiceError passes through unchanged.
 */
export function mediaError(error: unknown, kind: CaptureKind | 'output'): VoiceError {
  if (error instanceof VoiceError) return error;
  const name = nameOf(error);
  const what = kind === 'output' ? 'the output device' : `the ${kind}`;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      if (kind === 'output')
        return new VoiceError('NOT_SUPPORTED', `${what} may not be chosen here`, { cause: error });
      return new VoiceError(DENIED[kind], `access to ${what} was refused`, { cause: error });
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new VoiceError('NO_DEVICE', `${what} was not found`, { cause: error });
    case 'NotReadableError':
    case 'AbortError':
      return new VoiceError('DEVICE_BUSY', `${what} could not be opened`, { cause: error });
    case 'TypeError':
    case 'NotSupportedError':
      return new VoiceError('NOT_SUPPORTED', `this browser cannot capture ${what}`, { cause: error });
    default:
      return new VoiceError('DEVICE_BUSY', `${what} failed: ${String(error)}`, { cause: error });
  }
}
