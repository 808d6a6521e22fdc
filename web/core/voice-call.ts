/**
 * Being in a voice channel of one server: the server is told (`voice.join`, then
 * `voice.state` on every mute and deafen, so the member list shows them), the
 * channel's peer mesh is joined (one RTCPeerConnection per remote peer, shared with
 * the text meshes of the server; each peer proven by its signed DTLS fingerprint),
 * and the voice engine (web/voice/voice-session.ts) sends and plays audio on it.
 *
 * A mesh asks every speaker to send to every other, so it carries a channel of up
 * to its `meshLimit` people. The call goes through the relay instead (route.ts
 * `chooseRoute`) when the channel is bigger, when a member needs it ("hide my IP",
 * or a peer it could not reach directly: announced in `voice.state` as `relay`), so
 * that everyone in a channel is on one route. A move between routes keeps the call:
 * the relay is joined first and my voice goes both ways for a moment (a listener
 * plays a user heard both ways from the relay only), then the mesh falls silent: it
 * stays for screen shares and cameras (the relay carries voice only) while the
 * channel fits a mesh, and is left past the limit. Back to the mesh, the relay is
 * left once the peers are connected. A relay that goes down
 * for more than `RELAY_DOWN_MS` sends the call back to the mesh (TURN-only for a
 * hidden member), and back to the relay when it is up again. Without a relay, a
 * channel past its mesh limit is refused with a clear word. One call per server at a
 * time: joining another channel leaves the first. A server mute (`canSpeak: false`, or `serverMuted` in presence)
 * keeps the microphone muted until it is lifted, and every other member's client
 * stops playing the muted member (a client that ignores its mute is not heard).
 */
import type { MeshOptions } from '../net/mesh.ts';
import type { RelayStatus } from '../net/relay-client.ts';
import type { FrameSecrets } from '../voice/relay/frame-keys.ts';
import type { RelayLink } from '../voice/relay-route.ts';
import { SwitchableMesh } from '../voice/switchable-mesh.ts';
import type { VoiceMesh } from '../voice/voice-mesh.ts';
import type { VoiceSession } from '../voice/voice-session.ts';
import { randomId } from './call-roster.ts';
import type { IceServers } from './ice-credentials.ts';
import type { Observable } from './model.ts';
import { Value } from './observable.ts';
import { chooseRoute, type Route, UNREACHABLE_MS } from './voice-route.ts';

export type VoiceStatus = 'idle' | 'joining' | 'joined' | 'full' | 'failed';

/** A relay connection for one channel (web/net/relay-client.ts RelayClient fits). */
export type RelayConnection = RelayLink & {
  readonly status: Observable<RelayStatus>;
  readonly transport?: Observable<'websocket' | 'datachannel'>;
  /** Hands the relay a silence notice the server signed (a mute given or lifted mid-call). */
  notice?(notice: Uint8Array): void;
  close(): void;
};

/** The server's relay, as a call uses it. */
export interface CallRelay {
  /** Connects to the relay for `channel` (a fresh ticket each connect); resolves once joined. */
  connect(channel: string): Promise<RelayConnection>;
  /** The channel's frame secrets (KeyManager.frameSecret). */
  secrets(channel: string): FrameSecrets;
  /** Before my first frame: my channel key goes to the channel's members, and theirs can reach me. */
  prepare(channel: string): Promise<void>;
}

/** Someone else in a voice channel, from presence. */
export interface InChannel {
  readonly userId: string;
  /** Their voice needs the relay (`voice.state` `relay`). */
  readonly relay: boolean;
}

/** How long the relay may be down before the call goes back to the mesh. */
export const RELAY_DOWN_MS = 2_000;
/** Why there is no screen share or camera in a call on the relay, in words for the UI. */
export const VIDEO_ON_RELAY =
  'Screen sharing and camera need a direct call; this channel is too big for one, so its voice goes through the relay.';

/** How long the call lingers on both routes while it moves to the relay. */
const OVERLAP_MS = 1_500;
/** How long a move back to the mesh waits for the peers to connect. */
const MESH_READY_MS = 4_000;
/** How long the wish for the mesh must hold before the call goes back to it. */
const BACK_TO_MESH_MS = 3_000;
const CHECK_MS = 500;
/** How long after a failed relay connect the call tries the relay again. */
const RELAY_RETRY_MS = 10_000;

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
  inChannel(channel: string): InChannel[];
  /** The server's relay; absent: mesh only. */
  relay?: CallRelay;
  /** My user id. */
  me: string;
  /** Whether the server has muted me. */
  serverMuted(): boolean;
  /** Everyone the server has muted now (their audio is not played here). */
  serverMutedMembers(): string[];
  log?(message: string): void;
}

interface Joined {
  channel: string;
  /** This call's random id, told to the server so a reconnect resumes this call and no other. */
  id: string;
  /** The server has a relay for this call (and this client can use one). */
  relayable: boolean;
  /** What the engine sees: the channel mesh while joined to it (on a relay call, for video), else nothing. */
  front: SwitchableMesh;
  mesh: CallMesh | undefined;
  relay: RelayConnection | undefined;
  /** Since when the relay link is down (0: up). */
  relayDownSince: number;
  /** With no relay client (refused, or never admitted): when to try the relay again. */
  relayRetryAt: number;
  /** A move between routes is under way. */
  moving: boolean;
  /** Just moved to the relay: my voice still goes over the mesh too, which must stay. */
  overlapping: boolean;
  /** Since when the route wanted differs from the one in use (0: it does not). */
  wantedSince: number;
  /** When each other member was first seen in the channel while I was on the mesh. */
  seen: Map<string, number>;
  /** Members I could not reach directly (so my voice needs the relay while they stay). */
  unreachable: Set<string>;
  /** Audio packets received so far per mesh peer that presence says is gone (ghost check). */
  packets: Map<string, number>;
  ghostCheck: boolean;
  timer: ReturnType<typeof setInterval> | undefined;
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
  /** The route my voice takes now. */
  readonly route = new Value<Route>('mesh');
  /**
   * Whether screen share and camera reach the others: they travel the channel's mesh,
   * which a relay call keeps for them while the channel fits a mesh (the relay carries
   * voice only), and leaves past the mesh limit.
   */
  readonly video = new Value(true);
  /** The relay link's state while on the relay ('closed' otherwise). */
  readonly relayStatus = new Value<RelayStatus>('closed');
  private joined: Joined | undefined;
  /** Bumped by every join and leave, so a join overtaken by another stops where it is. */
  private turn = 0;
  /** Whether I had muted myself when the server muted me (or chose to meanwhile): its unmute gives that back. */
  private selfMuted = false;
  /** Bumped by every server mute, so an unmute still waiting for its fresh relay ticket does not undo a newer one. */
  private muteTurn = 0;
  private unmuting = false;

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
    const callId = randomId();
    let reply: Record<string, unknown>;
    try {
      reply = await conn.request('voice.join', { channel, call: callId });
    } catch (error) {
      if (turn === this.turn) this.fail(`The server refused: ${(error as Error).message}`);
      return;
    }
    if (turn !== this.turn) return;
    const limit = typeof reply.meshLimit === 'number' ? reply.meshLimit : 6;
    this.meshLimit.set(limit);
    const joined: Joined = {
      channel,
      id: callId,
      relayable: this.ctx.relay !== undefined && reply.relay !== false,
      front: new SwitchableMesh(),
      mesh: undefined,
      relay: undefined,
      relayDownSince: 0,
      relayRetryAt: 0,
      moving: false,
      overlapping: false,
      wantedSince: 0,
      seen: new Map(),
      unreachable: new Set(),
      packets: new Map(),
      ghostCheck: false,
      timer: undefined,
      unsubscribe: [],
    };
    const route = this.wanted(joined);
    if (route === 'full') {
      this.status.set('full');
      this.problem.set(
        `${this.ctx.inChannel(channel).length} people are in this channel; a direct call carries up to ${limit}, ` +
          'and this server has no relay for bigger channels.',
      );
      await conn.request('voice.leave', {}).catch(() => undefined);
      return;
    }
    try {
      this.joined = joined;
      if (route === 'relay') {
        try {
          await this.connectRelay(joined);
        } catch (error) {
          // The relay is down: a channel the mesh can carry starts on it (TURN-only if hidden).
          if (this.ctx.inChannel(channel).length + 1 > limit) throw error;
          this.relayFailed(joined, error as Error);
          await this.joinMesh(joined);
        }
      } else await this.joinMesh(joined);
      if (turn !== this.turn) return;
      await this.ctx.engine.join(joined.front);
      if (turn !== this.turn) return;
      if (joined.relay) await this.startRelay(joined, false);
      if (typeof reply.bitrate === 'number') await this.ctx.engine.setMaxBitrate(reply.bitrate);
      this.applyServerMute(reply.canSpeak === false || this.ctx.serverMuted());
      this.ctx.engine.setServerMuted(this.ctx.serverMutedMembers());
      const { muted, deafened } = this.ctx.engine;
      joined.unsubscribe.push(
        muted.subscribe(() => this.report()),
        deafened.subscribe(() => this.report()),
      );
      joined.timer = setInterval(() => this.check(joined), CHECK_MS);
      this.status.set('joined');
      this.report();
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
    await this.hangUp(true);
  }

  /**
   * The server ended my call in `channel` (`voice.ended`): I joined voice from another
   * device. The call ends here without telling the server, which knows.
   */
  async ended(channel: string, reason: string): Promise<void> {
    if (this.channel.value !== channel) return;
    await this.hangUp(false);
    this.problem.set(
      reason === 'elsewhere' ? 'You joined voice from another device.' : 'The server ended your call.',
    );
  }

  /** A moderator moved me to `channel` (`voice.moved`): the call follows, as in Mumble and Discord. */
  async moved(channel: string): Promise<void> {
    if (this.channel.value === undefined || this.channel.value === channel) return;
    await this.hangUp(false); // the server has me in the new channel already
    await this.join(channel);
  }

  private async hangUp(tellServer: boolean): Promise<void> {
    this.turn++;
    const was = this.channel.value;
    await this.teardown();
    this.channel.set(undefined);
    this.status.set('idle');
    this.speakBlocked.set(false);
    this.muteTurn++;
    this.unmuting = false;
    if (tellServer && was !== undefined) await this.ctx.request('voice.leave', {}).catch(() => undefined);
  }

  /** Mutes or unmutes me; while the server mutes me, the choice waits for its unmute. */
  setMuted(muted: boolean): void {
    if (this.speakBlocked.value) this.selfMuted = muted;
    else this.ctx.engine.setMuted(muted);
  }

  /** The connection came back: the new session is told where I am (the call itself kept flowing). */
  async reconnected(): Promise<void> {
    const j = this.joined;
    if (!j || this.status.value !== 'joined') return;
    const conn = this.ctx;
    try {
      await conn.request('voice.join', { channel: j.channel, call: j.id, resume: true });
      await conn.request('voice.state', this.voiceState(j));
    } catch (error) {
      // Refused as CONFLICT when I joined voice from another device meanwhile: the
      // server then sends voice.ended, which ends this call (ended()).
      this.ctx.log?.(`voice after reconnect: ${(error as Error).message}`);
    }
  }

  /** Presence changed: whether the server mutes me, whom it mutes, and whether the route should change. */
  presenceChanged(): void {
    if (this.status.value !== 'joined') return;
    this.applyServerMute(this.ctx.serverMuted());
    this.ctx.engine.setServerMuted(this.ctx.serverMutedMembers());
    if (this.joined) this.check(this.joined);
  }

  /**
   * The server signed a silence notice (a mute given or lifted): my relay connection
   * passes it on, so a standalone relay, which hears nothing else from the server,
   * refuses the muted member's frames at once. Every member in a call passes it, so a
   * muted member who withholds theirs changes nothing.
   */
  relayNotice(notice: Uint8Array): void {
    this.joined?.relay?.notice?.(notice);
  }

  /** What I tell the server about my voice. */
  private voiceState(j: Joined): Record<string, unknown> {
    const { muted, deafened } = this.ctx.engine;
    return { muted: muted.value, deafened: deafened.value, relay: this.needsRelay(j) };
  }

  private report(): void {
    const j = this.joined;
    if (!j || this.status.value !== 'joined') return;
    this.ctx
      .request('voice.state', this.voiceState(j))
      .catch((error: Error) => this.ctx.log?.(`voice.state: ${error.message}`));
  }

  /** My own reasons for the relay: hiding my IP, or members I could not reach directly. */
  private needsRelay(j: Joined): boolean {
    return j.relayable && (this.ctx.hideIp() || j.unreachable.size > 0);
  }

  /** The route the channel should be on now, by what presence says and how the relay is. */
  private wanted(j: Joined): Route | 'full' {
    const others = this.ctx.inChannel(j.channel);
    return chooseRoute({
      relayAvailable: j.relayable,
      relayDown: j.relayDownSince > 0 && Date.now() - j.relayDownSince > RELAY_DOWN_MS,
      people: others.length + 1,
      meshLimit: this.meshLimit.value,
      needed: this.needsRelay(j) || others.some((o) => o.relay),
    });
  }

  /** Every CHECK_MS and on presence: peers I cannot reach, the relay's health, and a move if one is due. */
  private check(j: Joined): void {
    if (this.joined !== j || this.status.value !== 'joined') return;
    const now = Date.now();
    if (!j.relay && j.relayDownSince > 0 && now >= j.relayRetryAt) j.relayDownSince = 0; // try it again
    const present = new Set(this.ctx.inChannel(j.channel).map((o) => o.userId));
    const neededBefore = this.needsRelay(j);
    for (const userId of [...j.seen.keys()]) if (!present.has(userId)) j.seen.delete(userId);
    for (const userId of [...j.unreachable]) if (!present.has(userId)) j.unreachable.delete(userId);
    if (j.mesh && this.route.value === 'mesh' && !j.moving) {
      const reached = new Set(j.mesh.peers().map((p) => p.userId));
      for (const userId of present) {
        if (reached.has(userId) || userId === this.ctx.me) continue;
        const since = j.seen.get(userId) ?? now;
        j.seen.set(userId, since);
        if (now - since > UNREACHABLE_MS && j.relayable && !j.unreachable.has(userId)) {
          this.ctx.log?.(`voice: ${userId.slice(0, 8)} not reached directly in ${UNREACHABLE_MS} ms`);
          j.unreachable.add(userId);
        }
      }
    }
    if (neededBefore !== this.needsRelay(j)) this.report();
    if (j.mesh) void this.dropGhosts(j, present);
    const wanted = this.wanted(j);
    const target: Route = wanted === 'full' ? 'mesh' : wanted;
    if (j.moving || target === this.route.value) {
      j.wantedSince = 0;
      if (this.route.value === 'relay') void this.fitVideoMesh(j);
      return;
    }
    j.wantedSince ||= now;
    // To the relay at once (someone cannot hear me otherwise); back to the mesh once the wish holds.
    if (target === 'mesh' && j.relayDownSince === 0 && now - j.wantedSince < BACK_TO_MESH_MS) return;
    j.wantedSince = 0;
    void this.move(j, target);
  }

  /**
   * A peer presence says has left the channel (a killed tab, a closed one) while its
   * link is dead (ICE not connected, or no audio packet since the last check) is
   * dropped from the call now, not when ICE and the mesh give up on it (~13 s). A live
   * link is kept: during a server outage presence is stale, and direct audio flows.
   */
  private async dropGhosts(j: Joined, present: ReadonlySet<string>): Promise<void> {
    if (j.ghostCheck) return;
    j.ghostCheck = true;
    try {
      for (const peer of j.front.peers()) {
        if (present.has(peer.userId)) {
          j.packets.delete(peer.peerId);
          continue;
        }
        const ice = peer.connection.iceConnectionState;
        const packets = await inboundAudioPackets(peer.connection);
        const before = j.packets.get(peer.peerId);
        j.packets.set(peer.peerId, packets);
        const dead = (ice !== 'connected' && ice !== 'completed') || packets === before;
        if (dead && this.joined === j) {
          this.ctx.log?.(`voice: ${peer.userId.slice(0, 8)} left (presence) and its link is dead: dropped`);
          j.packets.delete(peer.peerId);
          j.front.forget(peer);
        }
      }
    } finally {
      j.ghostCheck = false;
    }
  }

  private async move(j: Joined, to: Route): Promise<void> {
    j.moving = true;
    try {
      if (to === 'relay') {
        await this.connectRelay(j);
        if (this.joined !== j) return;
        await this.startRelay(j, true);
        return;
      }
      await this.joinMesh(j);
      j.seen.clear(); // a mesh kept through the relay call: reachability is timed afresh
      const ready = Date.now() + MESH_READY_MS;
      while (this.joined === j && Date.now() < ready) {
        const reached = new Set(j.mesh?.peers().map((p) => p.userId));
        if (this.ctx.inChannel(j.channel).every((o) => reached.has(o.userId))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (this.joined !== j) return;
      await this.ctx.engine.useRelay(null);
      this.route.set('mesh');
      this.videoBack();
      // A relay that is down is kept: it reconnects by itself, and the call returns to it.
      if (j.relayDownSince === 0) this.closeRelay(j);
      this.report();
    } catch (error) {
      if (to === 'relay') this.relayFailed(j, error as Error);
      else this.ctx.log?.(`voice: moving to the mesh failed: ${(error as Error).message}`);
    } finally {
      j.moving = false;
    }
  }

  /** The relay could not be reached: the call counts it down and tries again in a while. */
  private relayFailed(j: Joined, error: Error): void {
    this.ctx.log?.(
      `voice: the relay is unreachable (${error.message}); trying again in ${RELAY_RETRY_MS} ms`,
    );
    j.relayDownSince = Date.now() - RELAY_DOWN_MS - 1;
    j.relayRetryAt = Date.now() + RELAY_RETRY_MS;
  }

  /** Joins the channel's mesh (TURN only when hiding my IP) and puts it in front of the engine. */
  private async joinMesh(j: Joined): Promise<void> {
    if (j.mesh) return;
    const iceServers = await this.ctx.ice.get();
    if (this.joined !== j || j.mesh) return;
    j.mesh = this.ctx.join({
      room: j.channel,
      iceServers,
      iceTransportPolicy: this.ctx.hideIp() ? 'relay' : 'all',
      isMember: (userId) => this.ctx.isMember(userId),
    });
    j.seen.clear();
    j.front.use(j.mesh);
  }

  private leaveMesh(j: Joined): void {
    const mesh = j.mesh;
    j.mesh = undefined;
    j.front.use(undefined);
    mesh?.leave().catch(() => undefined);
  }

  /** Connects to the relay (kept across its restarts: the client reconnects by itself). */
  private async connectRelay(j: Joined): Promise<void> {
    const relay = this.ctx.relay;
    if (!relay) throw new Error('this server has no relay');
    if (j.relay) return;
    const [connection] = await Promise.all([relay.connect(j.channel), relay.prepare(j.channel)]);
    if (this.joined !== j || j.relay) {
      connection.close();
      return;
    }
    j.relay = connection;
    j.relayDownSince = 0;
    j.unsubscribe.push(
      connection.status.subscribe((status) => {
        if (j.relay !== connection) return;
        this.relayStatus.set(status);
        if (status === 'joined') j.relayDownSince = 0;
        else j.relayDownSince ||= Date.now();
        if (status === 'closed') {
          j.relay = undefined; // refused for good: a later move connects anew
          j.relayRetryAt = Date.now() + RELAY_RETRY_MS;
        }
        this.check(j);
      }),
    );
    this.relayStatus.set(connection.status.value);
  }

  /** Sends and plays through the relay; with `overlap`, the mesh carries my voice a moment longer. */
  private async startRelay(j: Joined, overlap: boolean): Promise<void> {
    const relay = this.ctx.relay;
    if (!j.relay || !relay) return;
    await this.ctx.engine.useRelay(
      { link: j.relay, secrets: relay.secrets(j.channel), userId: this.ctx.me },
      { meshAlongside: overlap },
    );
    this.route.set('relay');
    this.report();
    if (!overlap) {
      await this.fitVideoMesh(j);
      return;
    }
    j.overlapping = true;
    setTimeout(() => {
      j.overlapping = false;
      if (this.joined !== j || this.route.value !== 'relay') return;
      this.ctx.engine.setMeshAlongside(false);
      void this.fitVideoMesh(j);
    }, OVERLAP_MS);
  }

  private closeRelay(j: Joined): void {
    const relay = j.relay;
    j.relay = undefined;
    j.relayDownSince = 0;
    this.relayStatus.set('closed');
    relay?.close();
  }

  /**
   * The server mutes me, or lifts its mute. Lifted, my mic opens as I had left it
   * (never one I had closed myself); on the relay, only once a fresh ticket is in use,
   * since the one minted while I was muted is listen-only and the relay would refuse
   * my first words.
   */
  private applyServerMute(blocked: boolean): void {
    const was = this.speakBlocked.value;
    if (blocked) {
      if (!was) this.selfMuted = this.ctx.engine.muted.value;
      this.muteTurn++; // cancels an unmute still waiting for its ticket
      this.unmuting = false;
      this.speakBlocked.set(true);
      this.ctx.engine.setMuted(true);
      return;
    }
    if (!was || this.unmuting) return;
    this.unmuting = true;
    const turn = this.muteTurn;
    const unblock = () => {
      if (turn !== this.muteTurn) return;
      this.unmuting = false;
      this.speakBlocked.set(false);
      this.ctx.engine.setMuted(this.selfMuted);
    };
    const j = this.joined;
    if (j?.relay && this.route.value === 'relay') void this.renewRelay(j).finally(unblock);
    else unblock();
  }

  /** Reconnects to the relay with a fresh ticket, keeping the call on it. */
  private async renewRelay(j: Joined): Promise<void> {
    if (j.moving) return;
    j.moving = true;
    const old = j.relay;
    try {
      j.relay = undefined;
      await this.connectRelay(j);
      if (this.joined !== j) return;
      await this.startRelay(j, false);
    } catch (error) {
      this.ctx.log?.(`voice: a fresh relay ticket failed: ${(error as Error).message}`);
    } finally {
      if (j.relay === undefined)
        j.relay = old; // keep listening on the old ticket
      else old?.close();
      j.moving = false;
    }
  }

  /**
   * On the relay, the channel's mesh stays (or is joined) for screen shares and
   * cameras while the channel fits one; past the mesh limit it is left, and any video
   * of mine, which would reach no one, is stopped, saying why.
   */
  private async fitVideoMesh(j: Joined): Promise<void> {
    if (this.joined !== j || this.route.value !== 'relay' || j.moving || j.overlapping) return;
    const fits = () => this.ctx.inChannel(j.channel).length + 1 <= this.meshLimit.value;
    if (fits() && !j.mesh) {
      await this.joinMesh(j);
      // The next check leaves the mesh again if the channel grew past the limit meanwhile.
      if (this.joined === j && this.route.value === 'relay' && fits()) this.videoBack();
    } else if (!fits() && j.mesh) {
      this.leaveMesh(j);
      this.video.set(false);
      const { engine } = this.ctx;
      if (engine.screen.value === null && engine.camera.value === null) return;
      void engine.stopScreenShare().catch(() => undefined);
      void engine.stopCamera().catch(() => undefined);
      this.problem.set(VIDEO_ON_RELAY);
    } else this.video.set(fits());
  }

  private videoBack(): void {
    this.video.set(true);
    if (this.problem.value === VIDEO_ON_RELAY) this.problem.set('');
  }

  private fail(problem: string): void {
    this.status.set('failed');
    this.problem.set(problem);
  }

  private async teardown(): Promise<void> {
    const j = this.joined;
    this.joined = undefined;
    this.route.set('mesh');
    this.videoBack();
    await this.ctx.engine.leave().catch(() => undefined);
    if (!j) return;
    clearInterval(j.timer);
    for (const off of j.unsubscribe) off();
    this.closeRelay(j);
    const mesh = j.mesh;
    j.mesh = undefined;
    j.front.use(undefined);
    await mesh?.leave().catch(() => undefined);
  }
}

/** Audio RTP packets received on a connection so far (0 when the stats say none). */
async function inboundAudioPackets(pc: RTCPeerConnection): Promise<number> {
  let n = 0;
  const report = await pc.getStats().catch(() => undefined);
  report?.forEach((stat: { type?: string; kind?: string; packetsReceived?: number }) => {
    if (stat.type === 'inbound-rtp' && stat.kind === 'audio') n += stat.packetsReceived ?? 0;
  });
  return n;
}
