/**
 * A video this page shares into the channel: the screen (getDisplayMedia) or a
 * camera (getUserMedia), sent to every peer (and peers who join later) labelled
 * with its kind, until `stop()` or the browser ends it (the person pressed the
 * browser's own "Stop sharing").
 */
import { mediaError, VoiceError } from './errors.ts';
import type { VideoKind } from './remote-video.ts';
import { TrackSenders } from './track-senders.ts';
import { mediaLabel, type VoiceMesh, type VoicePeer } from './voice-mesh.ts';

export interface CameraOptions {
  /** A `videoinput` deviceId; absent: the default camera. */
  deviceId?: string;
  /** Ideal size and rate; defaults 1280×720 at 30 fps. */
  width?: number;
  height?: number;
  frameRate?: number;
}

function mediaDevices(): MediaDevices {
  const media = globalThis.navigator?.mediaDevices;
  if (!media)
    throw new VoiceError('NOT_SUPPORTED', 'no navigator.mediaDevices (is the page served over https?)');
  return media;
}

async function captureScreen(): Promise<MediaStream> {
  const media = mediaDevices();
  if (!media.getDisplayMedia) throw new VoiceError('NOT_SUPPORTED', 'this browser cannot share the screen');
  try {
    return await media.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false });
  } catch (error) {
    throw mediaError(error, 'screen');
  }
}

async function captureCamera(options: CameraOptions): Promise<MediaStream> {
  const video: MediaTrackConstraints = {
    width: { ideal: options.width ?? 1280 },
    height: { ideal: options.height ?? 720 },
    frameRate: { ideal: options.frameRate ?? 30 },
  };
  if (options.deviceId !== undefined) video.deviceId = { exact: options.deviceId };
  try {
    return await mediaDevices().getUserMedia({ video, audio: false });
  } catch (error) {
    throw mediaError(error, 'camera');
  }
}

export class LocalVideo {
  private readonly senders: TrackSenders;
  private stopped = false;

  private constructor(
    mesh: VoiceMesh,
    readonly kind: VideoKind,
    /** The captured stream, for a local preview. */
    readonly stream: MediaStream,
    readonly track: MediaStreamTrack,
    onEnded: () => void,
  ) {
    // Text and edges matter on a screen; smooth motion on a camera.
    track.contentHint = kind === 'screen' ? 'detail' : 'motion';
    this.senders = new TrackSenders(mesh, track, stream, mediaLabel(kind));
    track.addEventListener('ended', () => {
      if (!this.stopped) onEnded();
    });
  }

  /** Captures `kind` and starts sending it to the mesh's peers. */
  static async start(
    mesh: VoiceMesh,
    kind: VideoKind,
    onEnded: () => void,
    camera: CameraOptions = {},
  ): Promise<LocalVideo> {
    const stream = kind === 'screen' ? await captureScreen() : await captureCamera(camera);
    const [track, ...extra] = stream.getVideoTracks();
    for (const other of [...extra, ...stream.getAudioTracks()]) other.stop();
    if (!track) throw new VoiceError('NO_DEVICE', `the ${kind} capture returned no video track`);
    const local = new LocalVideo(mesh, kind, new MediaStream([track]), track, onEnded);
    await Promise.all(mesh.peers().map((peer) => local.addPeer(peer)));
    return local;
  }

  addPeer(peer: VoicePeer): Promise<void> {
    return this.senders.addPeer(peer);
  }

  removePeer(peerId: string): Promise<void> {
    return this.senders.removePeer(peerId);
  }

  /** Stops sending and ends the capture. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.track.stop();
    await this.senders.close();
  }
}
