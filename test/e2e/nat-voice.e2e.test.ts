/**
 * Voice across real NATs in the web app (dist/app.js): two homes of a NAT lab
 * (test/helpers/netns.ts), each with a Chromium behind its own router, and the signal
 * server, its in-process relay and coturn on the lab's public address. coturn answers
 * STUN only (no TURN), so a NAT that STUN cannot punch through leaves the mesh no path:
 * the case the relay exists for.
 *
 *  1. Behind two port-restricted cone NATs, Alice (440 Hz) and Bob (660 Hz) punch
 *     through: they hear each other on the mesh, and stay on it past the bound after
 *     which an unreached peer sends a call to the relay (UNREACHABLE_MS). This is the
 *     control: the lab, STUN and the app's mesh work across NAT.
 *  2. Both routers turn symmetric (a fresh public port for every destination) and the
 *     two reload and join the call again: the mesh never connects, each marks the other
 *     unreachable after the bound (not before), the call moves to the relay, and they
 *     hear each other through it, its data channel crossing both NATs.
 *  3. Bob's router drops all UDP (a network that lets only TCP out) and Alice's is a
 *     cone again: the mesh cannot reach Bob, the call moves to the relay, and Bob
 *     talks over the relay's WebSocket while Alice keeps her data channel.
 *
 * Skipped, saying why, without root, iproute2, iptables or coturn.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually } from '../../web/core/testing.ts';
import { UNREACHABLE_MS } from '../../web/core/voice-route.ts';
import { toneWav } from '../../web/voice/wav.ts';
import { core, enterVoice, joinByLink, receivedTone, relayTransport } from '../helpers/app-page.ts';
import { coturnMissing } from '../helpers/coturn.ts';
import { createNatLab, type NatLab, natLabMissing, removeStaleLabs } from '../helpers/netns.ts';
import { type VoiceRig, voiceRig } from '../helpers/voice-rig.ts';

const TONES = { alice: 440, bob: 660 } as const;
type Name = keyof typeof TONES;
const NAMES = Object.keys(TONES) as Name[];
const HOME: Record<Name, string> = { alice: 'home1', bob: 'home2' };
/** Page actions across the lab: a sign-in and a page load cross two routers. */
const STEP_MS = 20_000;
/** Hearing each other once a route is up (mesh punch-through, or the relay's data channel). */
const HEAR_BOUND_MS = 15_000;
/** In voice → on the relay: the unreachable bound, then the move itself (measured: see the figures). */
const MOVE_BOUND_MS = UNREACHABLE_MS + 10_000;

const route = (page: Page): Promise<string> => core(page, 'return v.route.value;');
/** Whom the page's call has marked unreachable directly (its route check's own record). */
const unreachable = (page: Page): Promise<string[]> =>
  core(page, 'return v.joined ? [...v.joined.unreachable] : [];');
const via = (page: Page, userId: string): Promise<string | undefined> =>
  core(
    page,
    `return e.participants.value.filter((x) => x.userId === ${JSON.stringify(userId)}).at(-1)?.via;`,
  );

describe('voice across real NATs (network namespaces, Chromium in each home)', {
  skip: natLabMissing() ?? coturnMissing(),
  timeout: 180_000,
}, () => {
  let lab: NatLab;
  let rig: VoiceRig;
  const pages = {} as Record<Name, Page>;
  const ids = {} as Record<Name, string>;
  const figures: Record<string, number | string> = {};

  const hearEachOther = (what: string) =>
    eventually(async () => {
      for (const name of NAMES)
        for (const other of NAMES.filter((n) => n !== name))
          assert.equal(
            await receivedTone(pages[name], ids[other], Object.values(TONES)),
            TONES[other],
            `${name} hears ${other}'s ${TONES[other]} Hz ${what}`,
          );
    }, HEAR_BOUND_MS);

  before(async () => {
    await removeStaleLabs();
    lab = await createNatLab([
      { name: HOME.alice, nat: 'port-restricted' },
      { name: HOME.bob, nat: 'port-restricted' },
    ]);
    rig = await voiceRig({ lab });
    for (const name of NAMES) {
      const wav = toneWav({ frequency: TONES[name], durationMs: 10_000, sampleRate: 48_000, amplitude: 0.5 });
      const page = await rig.page(await rig.browserWithMic(name, wav, HOME[name]), STEP_MS);
      await joinByLink(page, await rig.invite(), name[0]!.toUpperCase() + name.slice(1));
      pages[name] = page;
      ids[name] = await core(page, 'return s.meId;');
    }
  });

  after(async () => {
    if (Object.keys(figures).length) console.log(`nat voice figures: ${JSON.stringify(figures)}`);
    await rig?.close();
    await lab?.destroy();
  });

  it('1. behind two cone NATs, Alice and Bob punch through and stay on the mesh', async () => {
    const t0 = Date.now();
    for (const name of NAMES) await enterVoice(pages[name], rig.channel);
    await hearEachOther('on the mesh');
    figures.coneHearMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, Math.max(0, UNREACHABLE_MS + 2000 - (Date.now() - t0))));
    for (const name of NAMES) {
      assert.equal(await route(pages[name]), 'mesh', `${name} stays on the mesh past the unreachable bound`);
      assert.deepEqual(await unreachable(pages[name]), [], `${name} marked no one unreachable`);
    }
    await hearEachOther('still, on the mesh');
    for (const name of NAMES) await core(pages[name], 'await v.leave();');
  });

  it('2. behind two symmetric NATs the mesh never connects: the call moves to the relay, and they hear each other', async () => {
    for (const name of NAMES) await lab.setNat(HOME[name], 'symmetric');
    // Fresh pages: every link made behind the cone NATs (the channel's text mesh, which
    // the call shares) is gone, and new ones take new ports, mapped the symmetric way.
    for (const name of NAMES) await pages[name].reload();
    const t0 = Date.now();
    for (const name of NAMES) await enterVoice(pages[name], rig.channel);
    const inVoice = Date.now();
    await eventually(async () => {
      for (const name of NAMES) assert.equal(await route(pages[name]), 'relay', `${name} is on the relay`);
    }, MOVE_BOUND_MS);
    figures.symmetricToRelayMs = Date.now() - t0;
    assert.ok(
      Date.now() - inVoice > UNREACHABLE_MS - 1000,
      `the move waits out the unreachable bound (${UNREACHABLE_MS} ms), took ${Date.now() - inVoice} ms`,
    );
    for (const name of NAMES) {
      const other = NAMES.find((n) => n !== name)!;
      const marked = await unreachable(pages[name]);
      // Either side's mark moves the whole channel; one of them must have seen it.
      figures[`${name}MarkedUnreachable`] = String(marked.includes(ids[other]));
    }
    assert.ok(
      NAMES.some((name) => figures[`${name}MarkedUnreachable`] === 'true'),
      'the move came from a peer left unreached directly',
    );
    await hearEachOther('through the relay');
    figures.symmetricHearMs = Date.now() - t0;
    for (const name of NAMES) {
      const other = NAMES.find((n) => n !== name)!;
      assert.equal(await via(pages[name], ids[other]), 'relay', `${name} gets ${other} through the relay`);
    }
    await eventually(async () => {
      for (const name of NAMES)
        assert.equal(
          await relayTransport(pages[name]),
          'datachannel',
          `${name}'s relay link is a data channel across the NAT`,
        );
    }, HEAR_BOUND_MS);
    for (const name of NAMES) await core(pages[name], 'await v.leave();');
  });

  it('3. Bob’s network lets no UDP out: the call moves to the relay and Bob talks over its WebSocket', async () => {
    await lab.setNat(HOME.alice, 'port-restricted');
    await lab.blockUdp(HOME.bob);
    for (const name of NAMES) await pages[name].reload();
    const t0 = Date.now();
    for (const name of NAMES) await enterVoice(pages[name], rig.channel);
    await eventually(async () => {
      for (const name of NAMES) assert.equal(await route(pages[name]), 'relay', `${name} is on the relay`);
    }, MOVE_BOUND_MS);
    figures.udpBlockedToRelayMs = Date.now() - t0;
    await hearEachOther('through the relay, with no UDP for Bob');
    figures.udpBlockedHearMs = Date.now() - t0;
    await eventually(async () => {
      assert.equal(await relayTransport(pages.alice), 'datachannel', "Alice's relay link is a data channel");
    }, HEAR_BOUND_MS);
    assert.equal(
      await relayTransport(pages.bob),
      'websocket',
      "Bob's relay link is the WebSocket (no UDP gets out)",
    );
  });
});
