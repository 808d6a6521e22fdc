/**
 * Being in a voice channel of one server: the server is told (`voice.join`, then
 * `voice.state` on every mute and deafen, so the member list shows them), the
 * channel's peer mesh is joined (one RTCPeerConnection per remote peer, shared with
 * the text meshes of the server; each peer proven by its signed DTLS fingerprint),
 * and the voice engine (web/voice/voice-session.ts) sends and plays audio on it.
 *
 * A mesh asks every speaker to send to every other, so a channel holds at most its
 * `meshLimit` people here; past it the call is refused with a clear word (the relay
 * carries bigger channels). One call per server at a time: joining another channel
 * leaves the first. A server mute (`canSpeak: false`, or `serverMuted` in presence)
 * keeps the microphone muted until it is lifted, and every other member's client
 * stops playing the muted member (a client that ignores its mute is not heard).
 */
import type { MeshOptions } from '../net/mesh.ts';
import type { VoiceMesh } from '../voice/voice-mesh.ts';
import type { VoiceSession } from '../voice/voice-session.ts';
import type { IceServers } from './ice-credentials.ts';
import { Value } from './observable.ts';

export type VoiceStatus = 'idle' | 'joining' | 'joined' | 'full' | 'failed';

/** What a call needs of the mesh of its channel (web/net/mesh.ts's `Mesh` has it). */
export type CallMesh = VoiceMesh & { leave(): Promise<void> };

/** A mesh join with the server's connection and my identity already given. */
export type JoinCallMesh = (options: Omit<MeshOptions, 'connection' | 'identity'>) => CallMesh;

export interface VoiceCallContext {
  join: JoinCallMesh;
  engine: VoiceSession;
  /** A request to the server (voice.join, voice.state, voice.leave). */
  request(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
  ice: Pick<IceServers, 'get'>;
  hideIp(): boolean;
  /** Whether a user may be in the call (a member of the server). */
  isMember(userId: string): boolean;
  /** Sessions of others in a voice channel now, from presence. */
  occupancy(channel: string): number;
  /** Whether the server has muted me. */
  serverMuted(): boolean;
  /** Everyone the server has muted now (their audio is not played here). */
  serverMutedMembers(): string[];
  log?(message: string): void;
}

interface Joined {
  channel: string;
  mesh: CallMesh;
  unsubscribe: (() => void)[];
}

export class VoiceCall {
  /** The channel I am in (or joining), if any. */
  readonly channel = new Value<string | undefined>(undefined);
  readonly status = new Value<VoiceStatus>('idle');
  /** Why the last join failed or was refused, in words for the UI ('' when none). */
  readonly problem = new Value('');
  /** The mesh limit of the channel I am in. */
  readonly meshLimit = new Value(0);
  /** True while the server does not let me speak. */
  readonly speakBlocked = new Value(false);
  private joined: Joined | undefined;
  /** Bumped by every join and leave, so a join overtaken by another stops where it is. */
  private turn = 0;

  constructor(private readonly ctx: VoiceCallContext) {}

  get engine(): VoiceSession {
    return this.ctx.engine;
  }

  /** Joins a voice channel (leaving the one I am in). Resolves once the call runs or was refused. */
  async join(channel: string): Promise<void> {
    if (this.channel.value === channel && this.status.value === 'joined') return;
    await this.leave();
    const turn = ++this.turn;
    this.channel.set(channel);
    this.status.set('joining');
    this.problem.set('');
    const conn = this.ctx;
    let reply: Record<string, unknown>;
    try {
      reply = await conn.request('voice.join', { channel });
    } catch (error) {
      if (turn === this.turn) this.fail(`The server refused: ${(error as Error).message}`);
      return;
    }
    if (turn !== this.turn) return;
    const limit = typeof reply.meshLimit === 'number' ? reply.meshLimit : 6;
    this.meshLimit.set(limit);
    const others = this.ctx.occupancy(channel);
    if (others + 1 > limit) {
      this.status.set('full');
      this.problem.set(
        `${others} people are in this channel; a direct call carries up to ${limit}. ` +
          'Bigger channels go through the relay, which this app does not use for voice yet.',
      );
      await conn.request('voice.leave', {}).catch(() => undefined);
      return;
    }
    try {
      const iceServers = await this.ctx.ice.get();
      if (turn !== this.turn) return;
      const mesh = this.ctx.join({
        room: channel,
        iceServers,
        iceTransportPolicy: this.ctx.hideIp() ? 'relay' : 'all',
        isMember: (userId) => this.ctx.isMember(userId),
      });
      const joined: Joined = { channel, mesh, unsubscribe: [] };
      this.joined = joined;
      await this.ctx.engine.join(mesh);
      if (turn !== this.turn) return;
      if (typeof reply.bitrate === 'number') await this.ctx.engine.setMaxBitrate(reply.bitrate);
      this.applyServerMute(reply.canSpeak === false || this.ctx.serverMuted());
      this.ctx.engine.setServerMuted(this.ctx.serverMutedMembers());
      const { muted, deafened } = this.ctx.engine;
      const report = () => {
        if (this.status.value !== 'joined') return;
        conn
          .request('voice.state', { muted: muted.value, deafened: deafened.value })
          .catch((error: Error) => this.ctx.log?.(`voice.state: ${error.message}`));
      };
      joined.unsubscribe.push(muted.subscribe(report), deafened.subscribe(report));
      this.status.set('joined');
      report();
    } catch (error) {
      if (turn !== this.turn) return;
      const message = (error as Error).message;
      await this.teardown();
      await conn.request('voice.leave', {}).catch(() => undefined);
      this.fail(message);
    }
  }

  /** Leaves the call: tracks stop, the microphone is released, the mesh is left, the server told. */
  async leave(): Promise<void> {
    this.turn++;
    const was = this.channel.value;
    await this.teardown();
    this.channel.set(undefined);
    this.status.set('idle');
    this.speakBlocked.set(false);
    if (was !== undefined) await this.ctx.request('voice.leave', {}).catch(() => undefined);
  }

  setMuted(muted: boolean): void {
    if (!muted && this.speakBlocked.value) return;
    this.ctx.engine.setMuted(muted);
  }

  /** The connection came back: the new session is told where I am (the call itself kept flowing). */
  async reconnected(): Promise<void> {
    const j = this.joined;
    if (!j || this.status.value !== 'joined') return;
    const conn = this.ctx;
    try {
      await conn.request('voice.join', { channel: j.channel });
      const { muted, deafened } = this.ctx.engine;
      await conn.request('voice.state', { muted: muted.value, deafened: deafened.value });
    } catch (error) {
      this.ctx.log?.(`voice after reconnect: ${(error as Error).message}`);
    }
  }

  /** Presence changed: whether the server mutes me, and whom it mutes. */
  serverMuteChanged(): void {
    if (this.status.value !== 'joined') return;
    this.applyServerMute(this.ctx.serverMuted());
    this.ctx.engine.setServerMuted(this.ctx.serverMutedMembers());
  }

  private applyServerMute(blocked: boolean): void {
    const was = this.speakBlocked.value;
    this.speakBlocked.set(blocked);
    if (blocked) this.ctx.engine.setMuted(true);
    else if (was) this.ctx.engine.setMuted(false);
  }

  private fail(problem: string): void {
    this.status.set('failed');
    this.problem.set(problem);
  }

  private async teardown(): Promise<void> {
    const j = this.joined;
    this.joined = undefined;
    await this.ctx.engine.leave().catch(() => undefined);
    if (!j) return;
    for (const off of j.unsubscribe) off();
    await j.mesh.leave().catch(() => undefined);
  }
}
