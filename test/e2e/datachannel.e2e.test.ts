/**
 * Proves the end-to-end harness: two browser contexts on the real server make real
 * RTCPeerConnections (no ICE servers, so host candidates only), with this Node test
 * carrying offer, answer and trickled ICE candidates between the pages, then exchange
 * a message each way over a data channel.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JSHandle, Page } from 'playwright-core';
import { STEP_TIMEOUT_MS, withE2E, within } from '../helpers/e2e.ts';

interface CandidateInfo {
  type: string;
  address: string;
  protocol: string;
}

/** What `installPeer` leaves in a page; driven from Node through a JSHandle. */
interface PeerHarness {
  /** Resolves when the data channel is open. */
  open: Promise<void>;
  /** Resolves with the first message received on the data channel. */
  firstMessage: Promise<string>;
  /** Initiator only: creates the data channel's offer and sends it. */
  offer(): Promise<void>;
  /** Applies a signal (description or candidate) from the other peer. */
  deliver(signal: string): Promise<void>;
  send(text: string): void;
  state(): string;
  selectedPair(): Promise<{ state: string; local: CandidateInfo; remote: CandidateInfo } | null>;
}

/** Runs in the page. Signals go out through the `tcSignal` function exposed by Node. */
function installPeer(initiator: boolean): PeerHarness {
  type Signal = { description: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit | null };
  const signal = (message: Signal): void => {
    const exposed = globalThis as unknown as { tcSignal(text: string): Promise<void> };
    void exposed.tcSignal(JSON.stringify(message));
  };
  const pc = new RTCPeerConnection({ iceServers: [] });
  let channel: RTCDataChannel | undefined;
  let opened!: () => void;
  let received!: (text: string) => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const firstMessage = new Promise<string>((resolve) => (received = resolve));
  const attach = (dc: RTCDataChannel): void => {
    channel = dc;
    dc.onopen = () => opened();
    dc.onmessage = (event) => received(String(event.data));
    if (dc.readyState === 'open') opened();
  };
  if (initiator) attach(pc.createDataChannel('tc-e2e'));
  else pc.ondatachannel = (event) => attach(event.channel);
  pc.onicecandidate = (event) => signal({ candidate: event.candidate?.toJSON() ?? null });

  // Candidates that arrive before the remote description wait for it.
  const early: RTCIceCandidateInit[] = [];
  const candidateInfo = (stats: RTCStatsReport, id: string): CandidateInfo => {
    const c = stats.get(id) as { candidateType?: string; address?: string; protocol?: string } | undefined;
    return { type: c?.candidateType ?? '?', address: c?.address ?? '?', protocol: c?.protocol ?? '?' };
  };
  return {
    open,
    firstMessage,
    offer: async () => {
      await pc.setLocalDescription();
      signal({ description: pc.localDescription!.toJSON() });
    },
    deliver: async (text) => {
      const message = JSON.parse(text) as Signal;
      if ('description' in message) {
        await pc.setRemoteDescription(message.description);
        if (message.description.type === 'offer') {
          await pc.setLocalDescription();
          signal({ description: pc.localDescription!.toJSON() });
        }
        for (const candidate of early.splice(0)) await pc.addIceCandidate(candidate);
      } else if (message.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(message.candidate);
        else early.push(message.candidate);
      }
    },
    send: (text) => {
      if (!channel) throw new Error('no data channel yet');
      channel.send(text);
    },
    state: () =>
      `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, ` +
      `gathering ${pc.iceGatheringState}, channel ${channel?.readyState ?? 'none'}`,
    selectedPair: async () => {
      const stats = await pc.getStats();
      let pairId: string | undefined;
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId
        ? (stats.get(pairId) as { state: string; localCandidateId: string; remoteCandidateId: string })
        : undefined;
      if (!pair) return null;
      return {
        state: pair.state,
        local: candidateInfo(stats, pair.localCandidateId),
        remote: candidateInfo(stats, pair.remoteCandidateId),
      };
    },
  };
}

/**
 * Installs the harness in both pages and relays each page's signals to the other, in
 * order. Relay failures are collected so a timeout can say what went wrong.
 */
async function connectPair(
  a: Page,
  b: Page,
): Promise<{ a: JSHandle<PeerHarness>; b: JSHandle<PeerHarness>; relayErrors: string[] }> {
  const relayErrors: string[] = [];
  const handles = new Map<Page, JSHandle<PeerHarness>>();
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    let chain = Promise.resolve();
    await from.exposeFunction('tcSignal', (text: string) => {
      chain = chain
        .then(() => handles.get(to)?.evaluate((h, signal) => h.deliver(signal), text))
        .catch((error: unknown) => {
          relayErrors.push(`${String(error)} (signal ${text.slice(0, 200)})`);
        });
      return chain;
    });
  }
  const ha = await a.evaluateHandle(installPeer, true);
  const hb = await b.evaluateHandle(installPeer, false);
  handles.set(a, ha);
  handles.set(b, hb);
  return { a: ha, b: hb, relayErrors };
}

describe('e2e harness: WebRTC between two browser contexts', () => {
  it('opens a data channel over host candidates and carries a message each way', (t) =>
    withE2E('datachannel', { peers: 2 }, async ({ peers }) => {
      const [alice, bob] = peers;
      assert.ok(alice && bob, 'expected two peers');
      const { a, b, relayErrors } = await within(
        STEP_TIMEOUT_MS,
        'both pages to install the peer harness',
        connectPair(alice.page, bob.page),
      );
      const status = async (): Promise<string> => {
        const states = Promise.all([a.evaluate((h) => h.state()), b.evaluate((h) => h.state())]);
        const [sa, sb] = await within(2_000, 'the peers to report their state', states).catch(() => [
          '?',
          '?',
        ]);
        const relay = relayErrors.length ? `; relay errors: ${relayErrors.join(' | ')}` : '';
        return `alice: ${sa}; bob: ${sb}${relay}`;
      };
      /** One bounded step; a timeout reports both peers' connection state. */
      const step = async <T>(what: string, work: Promise<T>): Promise<T> => {
        try {
          return await within(STEP_TIMEOUT_MS, what, work);
        } catch (error) {
          throw new Error(`${(error as Error).message} (${await status()})`, { cause: error });
        }
      };

      const started = performance.now();
      await step(
        'alice to send the offer',
        a.evaluate((h) => h.offer()),
      );
      await step(
        'the data channel to open on both sides',
        Promise.all([a.evaluate((h) => h.open), b.evaluate((h) => h.open)]),
      );
      const connectMs = performance.now() - started;

      await step(
        'both peers to send a message',
        Promise.all([
          a.evaluate((h) => h.send('hello from alice')),
          b.evaluate((h) => h.send('hello from bob')),
        ]),
      );
      const [atBob, atAlice] = await step(
        'one message to arrive at each side',
        Promise.all([b.evaluate((h) => h.firstMessage), a.evaluate((h) => h.firstMessage)]),
      );
      assert.equal(atBob, 'hello from alice', "bob should receive alice's message");
      assert.equal(atAlice, 'hello from bob', "alice should receive bob's message");

      for (const [name, handle] of [
        ['alice', a],
        ['bob', b],
      ] as const) {
        const pair = await step(
          `${name}'s selected candidate pair`,
          handle.evaluate((h) => h.selectedPair()),
        );
        assert.ok(pair, `${name}: expected a selected candidate pair in getStats()`);
        assert.equal(pair.state, 'succeeded', `${name}: selected pair state`);
        t.diagnostic(
          `${name}: ${pair.local.type} ${pair.local.address} ⇄ ${pair.remote.type} ${pair.remote.address} (${pair.local.protocol})`,
        );
        assert.equal(
          pair.local.type,
          'host',
          `${name}: expected a host local candidate, got ${JSON.stringify(pair)}`,
        );
        assert.equal(
          pair.remote.type,
          'host',
          `${name}: expected a host remote candidate, got ${JSON.stringify(pair)}`,
        );
      }
      assert.deepEqual(relayErrors, [], 'expected every signal to be delivered');
      assert.deepEqual([...alice.errors, ...bob.errors], [], 'expected no page errors');
      t.diagnostic(`data channel open after ${connectMs.toFixed(0)} ms`);
    }));
});
