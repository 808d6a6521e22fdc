/**
 * TURN in real Chromium with real coturn: a member asks the tincan server for
 * `turn.credentials`, and two browser contexts use them with
 * `iceTransportPolicy: 'relay'`, so the only way their data channel can open is
 * through coturn relays; the selected candidate pair must be relay ⇄ relay. With
 * expired credentials Chromium gathers no relay candidate and reports coturn's 401.
 * Skipped, with a message, when coturn is not installed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JSHandle, Page } from 'playwright-core';
import { rawSigner } from '../../crypto/sign.ts';
import { type IceServer, mintTurnCredentials } from '../../signal/turn.ts';
import { SignalClient } from '../../web/net/signal-client.ts';
import { type Coturn, coturnMissing, startCoturn } from '../helpers/coturn.ts';
import { type E2ESession, e2eSession, STEP_TIMEOUT_MS, within } from '../helpers/e2e.ts';
import { member, nodeSocket } from '../helpers/signal.ts';

const SECRET = 'e2e-coturn-secret-0123456789abcdef';
const alice = member(['member'], 'alice');

interface CandidateInfo {
  type: string;
  address: string;
  protocol: string;
}

/** What `installRelayPeer` leaves in a page. */
interface RelayPeer {
  /** Sets the remote description (an offer is answered) and returns the local one, all candidates in. */
  describe(remote: RTCSessionDescriptionInit | null): Promise<RTCSessionDescriptionInit>;
  open: Promise<void>;
  firstMessage: Promise<string>;
  send(text: string): void;
  candidateTypes(): string[];
  iceErrors(): { errorCode: number; errorText: string; url: string }[];
  state(): string;
  selectedPair(): Promise<{ local: CandidateInfo; remote: CandidateInfo } | null>;
}

/** Runs in the page: one RTCPeerConnection that may only use relay candidates. */
function installRelayPeer(args: { iceServers: IceServer[]; initiator: boolean }): RelayPeer {
  const pc = new RTCPeerConnection({ iceServers: args.iceServers, iceTransportPolicy: 'relay' });
  const candidates: string[] = [];
  const errors: { errorCode: number; errorText: string; url: string }[] = [];
  pc.addEventListener('icecandidate', (e) => {
    if (e.candidate?.type) candidates.push(e.candidate.type);
  });
  pc.addEventListener('icecandidateerror', (e) => {
    const error = e as RTCPeerConnectionIceErrorEvent;
    errors.push({ errorCode: error.errorCode, errorText: error.errorText, url: error.url });
  });
  let opened!: () => void;
  let received!: (text: string) => void;
  const open = new Promise<void>((r) => (opened = r));
  const firstMessage = new Promise<string>((r) => (received = r));
  let channel: RTCDataChannel | undefined;
  const attach = (dc: RTCDataChannel) => {
    channel = dc;
    dc.onopen = () => opened();
    dc.onmessage = (e) => received(String(e.data));
    if (dc.readyState === 'open') opened();
  };
  if (args.initiator) attach(pc.createDataChannel('tc-turn'));
  else pc.ondatachannel = (e) => attach(e.channel);
  const gathered = () =>
    new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  return {
    async describe(remote) {
      if (remote) await pc.setRemoteDescription(remote);
      if (!remote || remote.type === 'offer') {
        await pc.setLocalDescription();
        await gathered();
      }
      return pc.localDescription!.toJSON();
    },
    open,
    firstMessage,
    send: (text) => channel!.send(text),
    candidateTypes: () => candidates,
    iceErrors: () => errors,
    state: () =>
      `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, gathering ${pc.iceGatheringState}`,
    async selectedPair() {
      const stats = await pc.getStats();
      let pairId: string | undefined;
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId
        ? (stats.get(pairId) as { localCandidateId: string; remoteCandidateId: string } | undefined)
        : undefined;
      if (!pair) return null;
      const info = (id: string): CandidateInfo => {
        const c = stats.get(id) as
          | { candidateType?: string; address?: string; protocol?: string }
          | undefined;
        return { type: c?.candidateType ?? '?', address: c?.address ?? '?', protocol: c?.protocol ?? '?' };
      };
      return { local: info(pair.localCandidateId), remote: info(pair.remoteCandidateId) };
    },
  };
}

const install = (page: Page, iceServers: IceServer[], initiator: boolean): Promise<JSHandle<RelayPeer>> =>
  page.evaluateHandle(installRelayPeer, { iceServers, initiator });

describe('TURN relay in Chromium with real coturn', { skip: coturnMissing() }, () => {
  let coturn: Coturn;
  let session: E2ESession;
  let client: SignalClient;

  before(async () => {
    coturn = await startCoturn({ secret: SECRET });
    session = await e2eSession({
      peers: 2,
      authorizedKeys: alice.line,
      overrides: { turn: { secret: SECRET, urls: [coturn.url('udp')], ttlSeconds: 600 } },
    });
    client = await SignalClient.connect({
      url: `${session.url.replace('http', 'ws')}/ws`,
      signer: rawSigner(alice.identity.secretKey),
      socket: nodeSocket,
    });
  });
  after(async () => {
    client?.close();
    await session?.close();
    await coturn?.stop();
  });

  it('opens a data channel whose selected pair is relay ⇄ relay, with credentials minted by tincan', async (t) => {
    const [pa, pb] = session.peers;
    assert.ok(pa && pb, 'expected two peers');
    const reply = await client.request('turn.credentials');
    const iceServers = reply.iceServers as IceServer[];
    const a = await install(pa.page, iceServers, true);
    const b = await install(pb.page, iceServers, false);
    const states = async () =>
      `alice: ${await a.evaluate((h) => h.state())} ${JSON.stringify(await a.evaluate((h) => h.iceErrors()))}; ` +
      `bob: ${await b.evaluate((h) => h.state())} ${JSON.stringify(await b.evaluate((h) => h.iceErrors()))}; ` +
      `coturn: ${coturn.logs
        .filter((l) => /error/i.test(l))
        .slice(-5)
        .join(' | ')}`;
    const step = async <T>(what: string, work: Promise<T>): Promise<T> => {
      try {
        return await within(STEP_TIMEOUT_MS, what, work);
      } catch (error) {
        throw new Error(`${(error as Error).message} (${await states()})`, { cause: error });
      }
    };

    const started = performance.now();
    const offer = await step(
      'alice’s offer with relay candidates',
      a.evaluate((h) => h.describe(null)),
    );
    const answer = await step(
      'bob’s answer',
      b.evaluate((h, o) => h.describe(o), offer),
    );
    await step(
      'alice to apply the answer',
      a.evaluate((h, o) => h.describe(o), answer),
    );
    await step(
      'the data channel to open through coturn',
      Promise.all([a.evaluate((h) => h.open), b.evaluate((h) => h.open)]),
    );
    const openMs = performance.now() - started;
    await a.evaluate((h) => h.send('relayed hello'));
    assert.equal(
      await step(
        'the message at bob',
        b.evaluate((h) => h.firstMessage),
      ),
      'relayed hello',
    );

    for (const [name, h] of [
      ['alice', a],
      ['bob', b],
    ] as const) {
      const types = await h.evaluate((p) => p.candidateTypes());
      assert.ok(types.length > 0, `${name}: gathered candidates`);
      assert.ok(
        types.every((type) => type === 'relay'),
        `${name}: relay candidates only, got ${types}`,
      );
      const pair = await step(
        `${name}’s selected pair`,
        h.evaluate((p) => p.selectedPair()),
      );
      assert.ok(pair, `${name}: a selected candidate pair`);
      assert.equal(pair.local.type, 'relay', `${name}: local candidate ${JSON.stringify(pair)}`);
      assert.equal(pair.remote.type, 'relay', `${name}: remote candidate ${JSON.stringify(pair)}`);
      t.diagnostic(
        `${name}: ${pair.local.type} ${pair.local.address} ⇄ ${pair.remote.type} ${pair.remote.address} (${pair.local.protocol})`,
      );
    }
    assert.deepEqual([...pa.errors, ...pb.errors], [], 'no page errors');
    t.diagnostic(`data channel open through coturn after ${openMs.toFixed(0)} ms`);
  });

  it('gathers no relay candidate with expired credentials: coturn answers 401', async () => {
    const [pa] = session.peers;
    assert.ok(pa, 'expected a peer');
    const expired = mintTurnCredentials(
      { secret: SECRET, urls: [coturn.url('udp')], ttlSeconds: 600 },
      alice.key,
      Date.now() - 3600_000,
    );
    const h = await install(pa.page, expired.iceServers, true);
    await within(
      STEP_TIMEOUT_MS,
      'ICE gathering to finish',
      h.evaluate((p) => p.describe(null)),
    );
    assert.deepEqual(
      await h.evaluate((p) => p.candidateTypes()),
      [],
      'no candidate at all under relay policy',
    );
    const errors = await h.evaluate((p) => p.iceErrors());
    assert.ok(
      errors.some((e) => e.errorCode === 401),
      `expected an icecandidateerror 401 from coturn, got ${JSON.stringify(errors)}`,
    );
  });
});
