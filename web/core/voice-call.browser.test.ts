/**
 * VoiceCall's route choice in Chromium, over a real VoiceSession: my mesh is a
 * LoopbackMesh linked to Bob's engine, presence and the server's replies come from
 * the test, and the relay is web/voice's in-page stand-in (PageRelay; the real relay
 * is a Node process, run in test/e2e/relay-voice.e2e.test.ts).
 */
import { expect } from '@open-wc/testing';
import { toBase64url } from '../../crypto/bytes.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { LoopbackMesh, PageRelay, waitFor } from '../voice/testing.ts';
import { VoiceSession } from '../voice/voice-session.ts';
import { Value } from './observable.ts';
import {
  type CallRelay,
  type InChannel,
  type RelayConnection,
  VIDEO_ON_RELAY,
  VoiceCall,
} from './voice-call.ts';
import { UNREACHABLE_MS } from './voice-route.ts';

const userId = () => toBase64url(generateIdentity().publicKey);
const secret = crypto.getRandomValues(new Uint8Array(32));

interface Rig {
  call: VoiceCall;
  states: Record<string, unknown>[];
  /** Every request the call made, in order. */
  requests: { type: string; fields: Record<string, unknown> }[];
  connects: () => number;
  /** Every relay link the call was given, in order; a listen-only one (minted while server-muted) forwards nothing. */
  links: { sent: number; refused: number }[];
  /** Bob's engine, linked to my mesh. */
  bob: VoiceSession;
  close(): Promise<void>;
}

/** Me and Bob linked directly; `others` is who presence says is in the channel besides me. */
async function rig(o: {
  others: (bob: string) => InChannel[];
  hideIp?: boolean;
  meshLimit?: number;
  failConnects?: number;
  /** Presence's word on whether the server mutes me: a ticket minted meanwhile is listen-only. */
  serverMuted?: () => boolean;
  /** How long every connect after the first takes (a fresh ticket, then the relay's admission). */
  reconnectMs?: number;
}): Promise<Rig> {
  const me = userId();
  const bob = userId();
  const mine = new LoopbackMesh(me);
  const peer = { mesh: new LoopbackMesh(bob), session: new VoiceSession({ inputMode: 'open-mic' }) };
  await LoopbackMesh.link(mine, peer.mesh);
  await peer.session.join(peer.mesh);
  const relay = new PageRelay();
  const states: Record<string, unknown>[] = [];
  const requests: Rig['requests'] = [];
  let connects = 0;
  let failures = o.failConnects ?? 0;
  const links: Rig['links'] = [];
  const serverMuted = o.serverMuted ?? (() => false);
  const callRelay: CallRelay = {
    connect: async () => {
      if (connects++ > 0 && o.reconnectMs) await new Promise((r) => setTimeout(r, o.reconnectMs));
      if (failures-- > 0) throw new Error('the relay is down');
      const listenOnly = serverMuted();
      const link = relay.join(me);
      const counted = Object.assign(link, { refused: 0 });
      const forward = link.send;
      links.push(counted);
      return Object.assign(counted, {
        status: new Value('joined' as const),
        close: () => undefined,
        send: (frame: Uint8Array) => {
          if (!listenOnly) return forward(frame);
          counted.refused++; // the relay refuses a listen-only ticket's frames
          return true;
        },
      }) as RelayConnection;
    },
    secrets: () => ({ epoch: () => 0, secret: () => secret }),
    prepare: async () => undefined,
  };
  const call = new VoiceCall({
    join: () => Object.assign(mine, { leave: async () => undefined }),
    engine: new VoiceSession({ inputMode: 'open-mic' }),
    request: async (type, fields) => {
      requests.push({ type, fields });
      if (type === 'voice.state') states.push(fields);
      return type === 'voice.join'
        ? { meshLimit: o.meshLimit ?? 6, bitrate: 32_000, canSpeak: true, relay: true }
        : {};
    },
    ice: { get: async () => [] },
    hideIp: () => o.hideIp === true,
    isMember: () => true,
    inChannel: () => o.others(bob),
    relay: callRelay,
    me,
    serverMuted,
    serverMutedMembers: () => [],
  });
  return {
    call,
    states,
    requests,
    connects: () => connects,
    links,
    bob: peer.session,
    close: async () => {
      await call.leave();
      await peer.session.leave();
      mine.close();
      peer.mesh.close();
    },
  };
}

type Suite = { timeout(ms: number): void };
let open: Rig | undefined;

describe('voice call: route choice', function (this: Suite) {
  this.timeout(40_000);
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });

  it('stays on the mesh while everyone is reached, and asks for the relay when a present peer is never reached', async () => {
    const zed = userId();
    let withZed = false;
    open = await rig({
      others: (bob) => [{ userId: bob, relay: false }, ...(withZed ? [{ userId: zed, relay: false }] : [])],
    });
    await open.call.join('lounge');
    expect(open.call.route.value, 'route with Bob reached directly').to.equal('mesh');
    await new Promise((r) => setTimeout(r, 1500));
    expect(open.call.route.value, 'still the mesh').to.equal('mesh');
    expect(
      open.states.every((s) => s.relay === false),
      'no relay asked for',
    ).to.equal(true);
    withZed = true; // Zed is in the channel (presence) but never joins my mesh
    const t0 = Date.now();
    await waitFor(() => open!.call.route.value === 'relay', {
      what: 'the call to move to the relay once Zed stays unreached',
      timeoutMs: UNREACHABLE_MS + 5000,
    });
    expect(Date.now() - t0, 'not before the unreachable bound').to.be.greaterThan(UNREACHABLE_MS - 600);
    expect(open.states.at(-1)?.relay, 'voice.state announces the need for the relay').to.equal(true);
  });

  it('joins on the relay past the mesh limit instead of refusing', async () => {
    open = await rig({
      meshLimit: 2,
      others: (bob) => [
        { userId: bob, relay: false },
        { userId: userId(), relay: false },
      ],
    });
    await open.call.join('lounge');
    expect(open.call.status.value, 'joined, not full').to.equal('joined');
    expect(open.call.route.value, 'on the relay').to.equal('relay');
  });

  it('hidden, with the relay down at join: starts on the mesh, then moves to the relay when it answers', async () => {
    open = await rig({ hideIp: true, failConnects: 1, others: (bob) => [{ userId: bob, relay: false }] });
    await open.call.join('lounge');
    expect(open.call.status.value, 'joined').to.equal('joined');
    expect(open.call.route.value, 'on the mesh while the relay is down').to.equal('mesh');
    await waitFor(() => open!.call.route.value === 'relay', {
      what: 'the call to try the relay again and move to it',
      timeoutMs: 15_000,
    });
    expect(open.connects(), 'connect attempts').to.equal(2);
  });

  it('a server mute lifted on the relay: my mic opens once a fresh ticket is in use, and as I had left it', async () => {
    let muted = true;
    open = await rig({
      hideIp: true,
      others: (bob) => [{ userId: bob, relay: false }],
      serverMuted: () => muted,
      reconnectMs: 400,
    });
    const { call } = open;
    await call.join('lounge');
    expect(call.route.value, 'hidden: on the relay').to.equal('relay');
    expect(call.speakBlocked.value, 'muted by the server at join').to.equal(true);
    expect(call.engine.muted.value, 'so my mic is closed').to.equal(true);

    muted = false;
    call.presenceChanged();
    call.presenceChanged(); // presence comes often: one renewal, not one per update
    expect(call.speakBlocked.value, 'still blocked while the fresh ticket is on its way').to.equal(true);
    await waitFor(() => !call.speakBlocked.value, { what: 'the unmute to take effect', timeoutMs: 5000 });
    expect(open.connects(), 'one fresh connect for the unmute').to.equal(2);
    expect(call.engine.muted.value, 'my mic is open again').to.equal(false);
    await waitFor(() => open!.links[1]!.sent > 0, {
      what: 'my voice to go out on the fresh ticket',
      timeoutMs: 5000,
    });
    expect(open.links[0]!.refused, 'no frame went out on the listen-only ticket').to.equal(0);

    // Muted by myself, then by the server: its unmute leaves my own mute alone.
    call.setMuted(true);
    muted = true;
    call.presenceChanged();
    expect(call.speakBlocked.value, 'muted by the server again').to.equal(true);
    muted = false;
    call.presenceChanged();
    await waitFor(() => !call.speakBlocked.value, {
      what: 'the second unmute to take effect',
      timeoutMs: 5000,
    });
    expect(call.engine.muted.value, 'still muted by my own choice').to.equal(true);
    expect(
      open.links.slice(1).every((l) => l.refused === 0),
      'nothing refused on any ticket',
    ).to.equal(true);
  });

  it('keeps a screen share on a relay call the mesh can carry (hide my IP): the mesh stays for video', async () => {
    open = await rig({ hideIp: true, failConnects: 1, others: (bob) => [{ userId: bob, relay: false }] });
    await open.call.join('lounge');
    expect(open.call.route.value, 'on the mesh while the relay is down').to.equal('mesh');
    const stream = await open.call.engine.startScreenShare();
    await waitFor(() => open!.call.route.value === 'relay', {
      what: 'the move to the relay',
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 2500)); // past the overlap, when a call too big for a mesh leaves it
    expect(open.call.engine.screen.value, 'still sharing').to.equal(stream);
    expect(open.call.video.value, 'video offered').to.equal(true);
    expect(
      open.call.engine.participants.value.some((p) => p.via === 'mesh'),
      'the mesh was kept: Bob (not on the relay here) is still in the call over it',
    ).to.equal(true);
    await waitFor(() => open!.bob.tiles.value.some((t) => t.kind === 'screen'), {
      what: 'Bob to have a tile of my screen while my voice goes through the relay',
    });
  });

  it('past the mesh limit on the relay: leaves the mesh, stops a share and says why', async () => {
    let crowd = false;
    open = await rig({
      meshLimit: 2,
      others: (bob) => [
        { userId: bob, relay: false },
        ...(crowd ? [{ userId: userId(), relay: false }] : []),
      ],
    });
    await open.call.join('lounge');
    expect(open.call.route.value, 'two people: the mesh').to.equal('mesh');
    const stream = await open.call.engine.startScreenShare();
    crowd = true; // a third joins: past the limit of 2
    await waitFor(() => open!.call.route.value === 'relay', {
      what: 'the move to the relay',
      timeoutMs: 15_000,
    });
    await waitFor(() => open!.call.engine.screen.value === null, {
      what: 'the share to stop once the mesh is left',
      timeoutMs: 5000,
    });
    expect(stream.getVideoTracks()[0]?.readyState, 'the capture is released').to.equal('ended');
    expect(open.call.video.value, 'no video offered').to.equal(false);
    expect(open.call.problem.value, 'says why').to.equal(VIDEO_ON_RELAY);
  });
});

describe('voice call: the server ends or moves it', function (this: Suite) {
  this.timeout(30_000);
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });

  it('ends the call when I join voice from another device, without telling the server again', async () => {
    open = await rig({ others: (bob) => [{ userId: bob, relay: false }] });
    await open.call.join('lounge');
    expect(open.call.status.value, 'joined').to.equal('joined');
    await open.call.ended('elsewhere-channel', 'elsewhere');
    expect(open.call.status.value, 'an end for another channel changes nothing').to.equal('joined');
    const before = open.requests.length;
    await open.call.ended('lounge', 'elsewhere');
    expect(open.call.status.value, 'the call ended').to.equal('idle');
    expect(open.call.channel.value, 'in no channel').to.equal(undefined);
    expect(open.call.engine.joined.value, 'the engine left (mic released)').to.equal(false);
    expect(open.call.problem.value, 'says why').to.match(/another device/);
    expect(
      open.requests.slice(before).map((r) => r.type),
      'no voice.leave: the server ended it',
    ).to.deep.equal([]);
  });

  it('resumes its own call after a reconnect (the same call id, resume)', async () => {
    open = await rig({ others: (bob) => [{ userId: bob, relay: false }] });
    await open.call.join('lounge');
    const first = open.requests.find((r) => r.type === 'voice.join')!.fields;
    expect(first.call, 'the call has an id').to.be.a('string');
    const before = open.requests.length;
    await open.call.reconnected();
    expect(open.requests[before], 'voice.join resuming that call').to.deep.equal({
      type: 'voice.join',
      fields: { channel: 'lounge', call: first.call, resume: true },
    });
  });

  it('follows a moderator’s move to another channel', async () => {
    open = await rig({ others: (bob) => [{ userId: bob, relay: false }] });
    await open.call.join('lounge');
    const before = open.requests.length;
    await open.call.moved('afk');
    expect(open.call.channel.value, 'now in the channel I was moved to').to.equal('afk');
    expect(open.call.status.value, 'and joined there').to.equal('joined');
    const types = open.requests.slice(before).map((r) => r.type);
    expect(types, 'no voice.leave, which would take me out of the new channel').not.to.include('voice.leave');
    const join = open.requests.slice(before)[0];
    expect(join?.type, 'the call joins the new channel').to.equal('voice.join');
    expect(join?.fields.channel, 'the channel moved to').to.equal('afk');
  });
});
