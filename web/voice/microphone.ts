/**
 * The microphone: one getUserMedia audio track with the browser's processing
 * (echo cancellation, noise suppression, auto gain) on by default, a chosen input
 * device, and both changeable while the call runs.
 *
 * A processing change is tried with `applyConstraints` first; Chromium resolves it
 * but keeps the old settings (its processing is fixed when the source opens), so
 * when `getSettings()` does not show the change the mic is captured again with the
 * new constraints and the new track handed to `adopt` before the old one stops.
 *
 * Processing is asked for with `exact` values: with plain (ideal) values Chromium
 * hands out a source already open on the same device (ours, during a re-capture,
 * or another tab's) with that source's processing. A browser that cannot honour an
 * exact value (OverconstrainedError) is asked again with ideal values.
 */
import { mediaError, VoiceError } from './errors.ts';

export interface AudioProcessing {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
}

export const DEFAULT_PROCESSING: Readonly<AudioProcessing> = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

const PROCESSING_KEYS = ['echoCancellation', 'noiseSuppression', 'autoGainControl'] as const;

export interface MicrophoneOptions {
  /** An `audioinput` deviceId; absent: the default input. */
  deviceId?: string | undefined;
  processing: AudioProcessing;
}

/** Called with the new track when the mic had to be captured again; the old one stops after it resolves. */
export type AdoptTrack = (next: MediaStreamTrack) => void | Promise<void>;

function devices(): MediaDevices {
  const media = globalThis.navigator?.mediaDevices;
  if (!media?.getUserMedia)
    throw new VoiceError('NOT_SUPPORTED', 'no navigator.mediaDevices (is the page served over https?)');
  return media;
}

function constraintsOf(options: MicrophoneOptions, exact: boolean): MediaTrackConstraints {
  const { processing, deviceId } = options;
  const value = (on: boolean): ConstrainBoolean => (exact ? { exact: on } : on);
  const constraints: MediaTrackConstraints = {
    echoCancellation: value(processing.echoCancellation),
    noiseSuppression: value(processing.noiseSuppression),
    autoGainControl: value(processing.autoGainControl),
    channelCount: { ideal: 1 },
  };
  if (deviceId !== undefined) constraints.deviceId = { exact: deviceId };
  return constraints;
}

async function getAudio(options: MicrophoneOptions): Promise<MediaStream> {
  const media = devices();
  try {
    return await media.getUserMedia({ audio: constraintsOf(options, true), video: false });
  } catch (error) {
    // Some processing cannot be switched here (or the device is missing: asking
    // again fails the same way and reports that).
    if (!(error instanceof Error && error.name === 'OverconstrainedError')) throw error;
    return await media.getUserMedia({ audio: constraintsOf(options, false), video: false });
  }
}

async function capture(options: MicrophoneOptions): Promise<MediaStreamTrack> {
  let stream: MediaStream;
  try {
    stream = await getAudio(options);
  } catch (error) {
    throw mediaError(error, 'microphone');
  }
  const [track, ...extra] = stream.getAudioTracks();
  for (const other of extra) other.stop();
  if (!track) throw new VoiceError('NO_DEVICE', 'getUserMedia returned no audio track');
  return track;
}

/** Whether the track's reported settings show `processing` (a setting the browser does not report counts as shown). */
export function showsProcessing(track: MediaStreamTrack, processing: AudioProcessing): boolean {
  const settings = track.getSettings();
  return PROCESSING_KEYS.every((key) => settings[key] === undefined || settings[key] === processing[key]);
}

export class Microphone {
  private current: MediaStreamTrack;
  private options: MicrophoneOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly onEnded: (() => void) | undefined;

  private constructor(track: MediaStreamTrack, options: MicrophoneOptions, onEnded?: () => void) {
    this.current = track;
    this.options = options;
    this.onEnded = onEnded;
    this.watch(track);
  }

  /** Captures the mic; rejects with MIC_DENIED, NO_DEVICE, DEVICE_BUSY or NOT_SUPPORTED. */
  static async open(options: MicrophoneOptions, onEnded?: () => void): Promise<Microphone> {
    const copy = { deviceId: options.deviceId, processing: { ...options.processing } };
    return new Microphone(await capture(copy), copy, onEnded);
  }

  get track(): MediaStreamTrack {
    return this.current;
  }

  get deviceId(): string | undefined {
    return this.options.deviceId;
  }

  get processing(): AudioProcessing {
    return { ...this.options.processing };
  }

  /** Changes the processing; `adopt` gets the new track if the mic had to be captured again. */
  setProcessing(processing: AudioProcessing, adopt: AdoptTrack): Promise<void> {
    return this.enqueue(async () => {
      const next = { ...this.options, processing: { ...processing } };
      const track = this.current;
      try {
        await track.applyConstraints(constraintsOf(next, false));
      } catch (error) {
        // An OverconstrainedError here only says the track cannot change in place.
        console.debug('tincan voice: applyConstraints refused; capturing again', error);
      }
      if (!showsProcessing(track, processing)) await this.recapture(next, adopt);
      else this.options = next;
    });
  }

  /** Switches to another input device (undefined: the default one). */
  setDevice(deviceId: string | undefined, adopt: AdoptTrack): Promise<void> {
    return this.enqueue(() => this.recapture({ ...this.options, deviceId }, adopt));
  }

  /** Stops the track: the browser releases the device (the track's readyState is 'ended'). */
  stop(): void {
    this.stopped = true;
    this.current.stop();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      if (this.stopped) throw new VoiceError('ABORTED', 'the microphone was stopped');
      return task();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async recapture(options: MicrophoneOptions, adopt: AdoptTrack): Promise<void> {
    const next = await capture(options);
    if (this.stopped) {
      next.stop();
      throw new VoiceError('ABORTED', 'the microphone was stopped while it was being captured');
    }
    const previous = this.current;
    try {
      await adopt(next);
    } catch (error) {
      next.stop();
      throw error;
    }
    this.current = next;
    this.options = options;
    this.watch(next);
    previous.stop();
  }

  private watch(track: MediaStreamTrack): void {
    // 'ended' fires when the device goes away (unplugged, revoked), never for stop().
    track.addEventListener('ended', () => {
      if (track === this.current && !this.stopped) this.onEnded?.();
    });
  }
}
