/**
 * `<tc-voice>` over a real VoiceCall and VoiceSession in Chromium (fake microphone):
 * the channel's mesh is web/voice's LoopbackMesh (real RTCPeerConnection pairs in
 * this page), and the server's replies to voice.join/state/leave come from a small
 * stand-in, since wtr runs one page without a tincan server (the real server, mesh
 * and UI together are in test/e2e/voice.e2e.test.ts).
 */
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { IceServers } from '../../core/ice-credentials.ts';
import { VoiceCall } from '../../core/voice-call.ts';
import { LoopbackMesh, waitFor } from '../../voice/testing.ts';
import { VoiceSession } from '../../voice/voice-session.ts';
import { $, $$ } from '../testing/dom.ts';
import { channel, FixtureServer, keyOf, member } from '../testing/fixtures.ts';
import './voice.component.ts';
import { describeRelay, describeRoute, keyName, type TcVoice } from './voice.component.ts';

const ice: Pick<IceServers, 'get'> = { get: async () => [] };

interface Rig {
  server: FixtureServer & { voice: VoiceCall };
  call: VoiceCall;
  requests: [string, Record<string, unknown>][];
  mine: LoopbackMesh;
  peer: { mesh: LoopbackMesh; session: VoiceSession };
  close(): Promise<void>;
}

/** Me in the fixture server's voice channel, with Bob's engine on the far end of a loopback link. */
async function rig(options: { occupancy?: number; meshLimit?: number } = {}): Promise<Rig> {
  const requests: Rig['requests'] = [];
  const mine = new LoopbackMesh(keyOf('me'));
  const peer = { mesh: new LoopbackMesh(keyOf('Bob')), session: new VoiceSession({ inputMode: 'open-mic' }) };
  await LoopbackMesh.link(mine, peer.mesh);
  await peer.session.join(peer.mesh);
  const call = new VoiceCall({
    join: () => Object.assign(mine, { leave: async () => undefined }),
    engine: new VoiceSession({ inputMode: 'open-mic' }),
    request: async (type, fields) => {
      requests.push([type, fields]);
      return type === 'voice.join'
        ? { meshLimit: options.meshLimit ?? 6, bitrate: 32_000, canSpeak: true }
        : {};
    },
    ice,
    hideIp: () => false,
    isMember: () => true,
    inChannel: () =>
      Array.from({ length: options.occupancy ?? 1 }, (_, i) => ({ userId: keyOf(`user${i}`), relay: false })),
    me: keyOf('me'),
    serverMuted: () => false,
    serverMutedMembers: () => [],
  });
  const base = new FixtureServer('s', 'Blue', {
    members: [member('me'), member('Bob')],
    channels: [channel('general'), channel('lounge', { kind: 'voice', order: 1 })],
  });
  const server = Object.assign(base, { voice: call });
  return {
    server,
    call,
    requests,
    mine,
    peer,
    close: async () => {
      await call.leave();
      await peer.session.leave();
    },
  };
}

let open: Rig | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('<tc-voice>', function (this: { timeout(ms: number): void }) {
  this.timeout(40_000);

  it('offers to join; joined, it shows the call, who is in it and their route; it is accessible', async () => {
    open = await rig();
    const el = await fixture<TcVoice>(html`<tc-voice .server=${open.server} channel="lounge"></tc-voice>`);
    $<HTMLButtonElement>(el, 'button.join').click();
    await waitFor(() => open!.call.status.value === 'joined', { what: 'the call to join' });
    await el.updateComplete;
    expect($(el, '[role=status]').textContent).to.contain('Voice connected · lounge');
    expect(open.requests.map(([t]) => t)).to.include.members(['voice.join', 'voice.state']);
    await waitFor(() => $$(el, 'li.participant').length === 1, { what: 'Bob to be listed' });
    const row = $(el, 'li.participant');
    expect(row.querySelector('.name')!.textContent, 'the participant is named').to.equal('Bob');
    await waitFor(() => !row.querySelector('.route')!.textContent!.includes('connecting'), {
      what: 'a route from getStats',
    });
    expect(row.querySelector('.route')!.textContent).to.match(/^direct/);
    await expect(el).shadowDom.to.be.accessible();
  });

  it('drives the engine: mute, deafen, a peer’s volume and local mute', async () => {
    open = await rig();
    const el = await fixture<TcVoice>(html`<tc-voice .server=${open.server} channel="lounge"></tc-voice>`);
    await open.call.join('lounge');
    await waitFor(() => $$(el, 'li.participant').length === 1, { what: 'Bob to be listed' });
    const engine = open.call.engine;
    $<HTMLButtonElement>(el, 'button.mute').click();
    await el.updateComplete;
    expect(engine.muted.value, 'muted after the click').to.equal(true);
    expect($(el, 'button.mute').getAttribute('aria-pressed')).to.equal('true');
    await waitFor(() => open!.requests.some(([t, f]) => t === 'voice.state' && f.muted === true), {
      what: 'the server to be told',
    });
    $<HTMLButtonElement>(el, 'button.deafen').click();
    expect(engine.deafened.value, 'deafened after the click').to.equal(true);
    const slider = $<HTMLInputElement>(el, 'input[type=range][aria-label="Volume of Bob"]');
    slider.value = '200';
    slider.dispatchEvent(new Event('input'));
    expect(engine.volumes.value[keyOf('Bob')], 'Bob at 200 %').to.equal(2);
    const localMute = $<HTMLInputElement>(el, 'li.participant .local-mute input');
    localMute.click();
    expect(engine.localMutes.value[keyOf('Bob')], 'Bob muted for me').to.equal(true);
  });

  it('refuses a channel past its mesh limit with a clear word, and tells the server it left', async () => {
    open = await rig({ occupancy: 6, meshLimit: 6 });
    const el = await fixture<TcVoice>(html`<tc-voice .server=${open.server} channel="lounge"></tc-voice>`);
    await open.call.join('lounge');
    await el.updateComplete;
    expect(open.call.status.value).to.equal('full');
    expect($(el, '[role=alert]').textContent).to.contain('a direct call carries up to 6');
    expect(open.requests.map(([t]) => t)).to.deep.equal(['voice.join', 'voice.leave']);
    expect(open.call.engine.joined.value, 'the engine never opened the mic').to.equal(false);
  });

  it('push-to-talk: the chosen key held on the page transmits, not while typing in a field', async () => {
    open = await rig();
    const el = await fixture<TcVoice>(
      html`<div><tc-voice compact .server=${open.server} ptt-key="KeyT"></tc-voice><input aria-label="x" /></div>`,
    );
    await open.call.join('lounge');
    const engine = open.call.engine;
    engine.setInputMode('push-to-talk');
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyT' }));
    expect(engine.pushToTalkHeld.value, 'held while the key is down').to.equal(true);
    window.dispatchEvent(new KeyboardEvent('keyup', { code: 'KeyT' }));
    expect(engine.pushToTalkHeld.value, 'released with the key').to.equal(false);
    const input = el.querySelector('input')!;
    input.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyT', bubbles: true, composed: true }));
    expect(engine.pushToTalkHeld.value, 'typing the key in a text field does not talk').to.equal(false);
  });

  it('picks a new push-to-talk key from the next key pressed', async () => {
    open = await rig();
    const el = await fixture<TcVoice>(html`<tc-voice .server=${open.server} channel="lounge"></tc-voice>`);
    await open.call.join('lounge');
    open.call.engine.setInputMode('push-to-talk');
    await el.updateComplete;
    $<HTMLButtonElement>(el, 'button.ptt-key').click();
    const picked = oneEvent(el, 'tc-ptt-key');
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyV' }));
    expect((await picked).detail.key).to.equal('KeyV');
  });

  it('words routes and keys for people', () => {
    expect(keyName('Backquote')).to.equal('`');
    expect(keyName('KeyT')).to.equal('T');
    expect(describeRoute(undefined)).to.equal('connecting…');
    expect(
      describeRoute({
        route: 'turn',
        rttMs: 12.4,
        loss: 0.02,
        jitterMs: 3.2,
        localCandidateType: 'relay',
        remoteCandidateType: 'host',
        protocol: 'udp',
        remoteLoss: 0,
        packetsReceived: 1,
        packetsLost: 0,
        packetsSent: 1,
        codec: 'audio/opus',
        timestamp: 0,
      }),
    ).to.equal('TURN relay · 12 ms · 2 % loss · 3 ms jitter');
    expect(
      describeRelay({ transport: 'datachannel', rttMs: 1.6, loss: 0.004, jitterMs: 2.4, bufferMs: 40 }),
    ).to.equal('relay (data channel) · 2 ms · 0.4 % loss · 2 ms jitter · 40 ms buffer');
    expect(
      describeRelay({ transport: 'websocket', rttMs: null, loss: null, jitterMs: null, bufferMs: 60 }),
    ).to.equal('relay (WebSocket) · 60 ms buffer', 'what is not measured yet is left out');
  });
});
