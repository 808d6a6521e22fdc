/**
 * Voice in the real web app (dist/app.js) in Debian's Chromium, on loopback, each
 * figure beside a baseline taken in the same run:
 *
 * - join → first audio: from the click on the voice channel at A to the first audio
 *   energy of A's tone in what B's engine receives (B already in the call); baseline:
 *   in one tab, getUserMedia plus a bare RTCPeerConnection pair to first audio at the
 *   receiving end (what any WebRTC call pays).
 * - mouth → ear: with voice activity (the default) and with an open mic, A's fake microphone plays 150 ms tone bursts once a second; the time
 *   from a burst's onset in A's captured (processed) microphone track to its onset in
 *   the audio B's engine receives from A (wall clocks of two tabs on one machine).
 *   Direct, and with "hide my IP" through coturn (on a second server without a relay,
 *   since a hidden member on a server with one moves the call to the relay).
 *   Baseline: the same onset method on a bare RTCPeerConnection pair inside A's tab
 *   carrying the same track. The output device's own latency is not in either
 *   (headless Chromium has no sound card).
 * - mouth → ear via the relay: A has "hide my IP", so A and B both move to the relay
 *   (checked on both before measuring). Onsets where B's engine receives the relay
 *   voice (`relay:<slot>`: after jitter buffer, decoder and scheduler) and, apart,
 *   after the loopback output (the track B's <audio> element plays: A's own loopback,
 *   fed A's Opus packets, where Chromium plays relay voices directly, relay/direct-
 *   output.ts; else the loopback of the whole mix), beside the direct
 *   call of the same run. The like-for-like figure is "after the loopback": like the
 *   direct call's received track it is tapped through a MediaStreamSource, a hop of
 *   ~25 ms that the engine tap (an AnalyserNode inside B's graph) does not pay, while
 *   A's capture tap pays it too — so "at the engine" reads low against direct. An
 *   init script times the relay's FRAME messages A sends and the FORWARD messages B
 *   gets (data channel or WebSocket); the first large one after a quiet spell is a
 *   burst's onset on the wire, which splits the time into capture + encode (relative
 *   to the capture tap, so it can be negative), transit, receive chain (open, jitter
 *   buffer, decode, lookahead; it includes where the onset falls in its 20 ms frame)
 *   and loopback. The playback counters (concealed, lost, late, skipped, underruns)
 *   and the loopback receiver's own jitter buffer over each run are logged, to tell
 *   a faster setting from a choppier one. Direct and relay calls are interleaved,
 *   BENCH_VOICE_CALLS of each with fresh members: a call's phases (encoder frames,
 *   both jitter buffers) are set as it starts, so calls differ more than bursts.
 * - CPU of a tab in a 4-person mesh call: renderer CPU time of four tabs in one
 *   browser (Chromium's SystemInfo.getProcessInfo) over a window, per tab, in % of one
 *   core; baseline: the same four tabs open on the app, not in a call.
 *
 *   npm run bench -- voice        BENCH_VOICE_RUNS (joins, default 5),
 *                                 BENCH_VOICE_CALLS (calls of each route, default 2),
 *                                 BENCH_VOICE_BURSTS (onsets per call and mode, default 12),
 *                                 BENCH_VOICE_ONLY=mouth-to-ear (skip join, TURN and CPU)
 */
import type { Browser, Page } from 'playwright-core';
import { core, enterVoice, hideIp, joinByLink } from '../test/helpers/app-page.ts';
import { type VoiceRig, voiceRig } from '../test/helpers/voice-rig.ts';
import { encodeWav, toneWav } from '../web/voice/wav.ts';
import { type Bench, type Figure, figure, median, percentile } from './figure.ts';

const RUNS = Number(process.env.BENCH_VOICE_RUNS ?? 5);
const ONLY_MOUTH_TO_EAR = process.env.BENCH_VOICE_ONLY === 'mouth-to-ear';
/** Calls of each kind (direct, relay) for the mouth → ear figures, interleaved. */
const CALLS = Number(process.env.BENCH_VOICE_CALLS ?? 2);
const RATE = 48_000;
const BURST_MS = 150;
const PERIOD_MS = 1_000;
/** Onsets measured per call and mode. */
const BURSTS = Number(process.env.BENCH_VOICE_BURSTS ?? 12);
/** A received onset belongs to the sent one before it when it comes within this (the next burst is 1 s later). */
const PAIR_MS = 700;
/** A relay message this large (type byte + sealed Opus) carries the tone; silence encodes far smaller. */
const LOUD_FRAME_BYTES = 40;
const CPU_WINDOW_MS = 10_000;
const TIMEOUT_MS = 30_000;
/** The whole bench, every part included: past it the run fails rather than hangs. */
const DEADLINE_MS = 12 * 60_000;

/** Tone bursts: BURST_MS of 1 kHz every PERIOD_MS, silence between (the file loops). */
function burstsWav(): Uint8Array {
  const samples = new Float32Array(((RATE * PERIOD_MS) / 1000) * 4);
  for (let i = 0; i < samples.length; i++) {
    const inPeriod = ((i / RATE) * 1000) % PERIOD_MS;
    samples[i] = inPeriod < BURST_MS ? 0.5 * Math.sin((2 * Math.PI * 1000 * i) / RATE) : 0;
  }
  return encodeWav(samples, RATE);
}

/**
 * Installs, in the page, an onset detector on an AnalyserNode: it records the wall
 * time (ms) at which the RMS of a 256-sample block rises above a threshold after at
 * least 300 ms below it. `source` is an expression giving the node to tap.
 */
const DETECTOR = `(node, into) => {
  node.fftSize = 256;
  const buf = new Float32Array(256);
  let quietSince = performance.now();
  let loud = false;
  const tick = () => {
    if (!globalThis.tcBenchRun) return;
    node.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const rms = Math.sqrt(sum / buf.length);
    const now = performance.now();
    if (rms > 0.02) {
      if (!loud && now - quietSince > 300) into.push(performance.timeOrigin + now);
      loud = true;
    } else if (rms < 0.005) {
      if (loud) quietSince = now;
      loud = false;
    }
    setTimeout(tick, 1);
  };
  tick();
}`;

interface Onsets {
  sent: number[];
  received: number[];
}

/** The first of `list` in (`from`, `from` + `within`], or undefined. */
function firstAfter(list: readonly number[], from: number, within = PAIR_MS): number | undefined {
  return list.find((x) => x > from && x - from <= within);
}

/** Pairs each sent onset with the first received one within PAIR_MS after it. */
function latencies({ sent, received }: Onsets): number[] {
  const out: number[] = [];
  for (const s of sent) {
    const r = firstAfter(received, s);
    if (r !== undefined) out.push(r - s);
  }
  return out;
}

/**
 * Init script for the relay pages: the wall time and size of every FRAME (0x03) the
 * page sends to the relay and every FORWARD (0x04) it gets, over the data channel
 * ('voice') or the /relay WebSocket, while `tcBenchRun` is set.
 */
const WIRE_TAP = `(() => {
  const wire = { out: [], in: [], via: {} };
  globalThis.tcWire = wire;
  const bytesOf = (d) => d instanceof ArrayBuffer ? new Uint8Array(d)
    : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : undefined;
  const note = (list, data, type, via) => {
    if (!globalThis.tcBenchRun) return;
    const u = bytesOf(data);
    if (!u || u[0] !== type) return;
    list.push([performance.timeOrigin + performance.now(), u.length]);
    wire.via[via] = (wire.via[via] || 0) + 1;
  };
  const tap = (proto, mine, via) => {
    const send = proto.send;
    proto.send = function (data) { if (mine(this)) note(wire.out, data, 0x03, via); return send.call(this, data); };
    const add = proto.addEventListener;
    proto.addEventListener = function (type, listener, options) {
      if (type !== 'message' || !mine(this) || typeof listener !== 'function') return add.call(this, type, listener, options);
      return add.call(this, type, function (event) { note(wire.in, event.data, 0x04, via); return listener.call(this, event); }, options);
    };
  };
  tap(RTCDataChannel.prototype, (c) => c.label === 'voice', 'datachannel');
  tap(WebSocket.prototype, (w) => String(w.url).endsWith('/relay'), 'websocket');
})();`;

/** Onsets in a wire log: the first loud message after 300 ms without one. */
function wireOnsets(log: readonly [number, number][]): number[] {
  const out: number[] = [];
  let lastLoud = Number.NEGATIVE_INFINITY;
  for (const [t, bytes] of log) {
    if (bytes < LOUD_FRAME_BYTES) continue;
    if (t - lastLoud > 300) out.push(t);
    lastLoud = t;
  }
  return out;
}

/** What one mouth → ear measurement saw: onsets at each point, wall-clock ms. */
interface CallOnsets extends Onsets {
  /** After B's loopback output (relay only). */
  ear: number[];
  /** A's FRAME messages and B's FORWARD messages, [time, bytes] (relay only). */
  wireOut: [number, number][];
  wireIn: [number, number][];
  via: Record<string, number>;
}

/**
 * In B's page: the track B's ear gets of A's relay voice is there, and is the direct
 * one (relay/direct-output.ts) where the browser plays relay voices directly.
 */
const EAR_READY = `(() => { const t = p && e.earTrack(p.peerId); const mixed = e.loopbackOutput && e.loopbackOutput.track;
  return !!t && (typeof RTCEncodedAudioFrame !== 'function' || t !== mixed); })()`;

async function waitUntil(what: string, check: () => Promise<boolean>, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`voice bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mouth → ear between A (sender) and B, through the call they are both in (on `via`). */
async function callOnsets(
  a: Page,
  b: Page,
  aId: string,
  mode: 'voice-activity' | 'open-mic',
  via: 'mesh' | 'relay',
): Promise<CallOnsets> {
  const find = `e.participants.value.find((x) => x.userId === ${JSON.stringify(aId)} && x.via === '${via}')`;
  await core(a, `e.setInputMode(${JSON.stringify(mode)}); return true;`);
  await waitUntil(`B to receive A (${via})`, () =>
    core<boolean>(
      b,
      `const p = ${find}; return !!(p && e.receivedAudio(p.peerId)) && ${via === 'mesh' ? 'true' : EAR_READY};`,
    ),
  );
  await a.evaluate(`(() => {
    globalThis.tcSent = [];
    if (globalThis.tcWire) globalThis.tcWire.out = [];
    const e = document.querySelector('tc-app').app.servers.value[0].voice.engine;
    const ctx = (globalThis.tcCtx = new AudioContext());
    const node = ctx.createAnalyser();
    ctx.createMediaStreamSource(new MediaStream([e.inputTrack])).connect(node);
    globalThis.tcBenchRun = true;
    (${DETECTOR})(node, globalThis.tcSent);
  })()`);
  await b.evaluate(`(() => {
    globalThis.tcReceived = []; globalThis.tcEar = [];
    if (globalThis.tcWire) { globalThis.tcWire.in = []; globalThis.tcWire.via = {}; }
    const e = document.querySelector('tc-app').app.servers.value[0].voice.engine;
    const p = ${find};
    globalThis.tcBenchRun = true;
    (${DETECTOR})(e.receivedAudio(p.peerId).node, globalThis.tcReceived);
    if (${via === 'relay'}) {
      const ctx = (globalThis.tcCtx = new AudioContext());
      const node = ctx.createAnalyser();
      ctx.createMediaStreamSource(new MediaStream([e.earTrack(p.peerId)])).connect(node);
      (${DETECTOR})(node, globalThis.tcEar);
    }
  })()`);
  await new Promise((r) => setTimeout(r, (BURSTS + 1) * PERIOD_MS));
  const stop = `(() => {
    globalThis.tcBenchRun = false;
    if (globalThis.tcCtx) void globalThis.tcCtx.close();
    const w = globalThis.tcWire || { out: [], in: [], via: {} };
    return { sent: globalThis.tcSent || [], received: globalThis.tcReceived || [], ear: globalThis.tcEar || [], wireOut: w.out, wireIn: w.in, via: w.via };
  })()`;
  const fromA = (await a.evaluate(stop)) as CallOnsets;
  const fromB = (await b.evaluate(stop)) as CallOnsets;
  return {
    sent: fromA.sent,
    received: fromB.received,
    ear: fromB.ear,
    wireOut: fromA.wireOut,
    wireIn: fromB.wireIn,
    via: fromB.via,
  };
}

async function callLatency(
  a: Page,
  b: Page,
  aId: string,
  mode: 'voice-activity' | 'open-mic' = 'voice-activity',
) {
  return latencies(await callOnsets(a, b, aId, mode, 'mesh'));
}

/** Per burst, ms: where the time of a relay burst went (bursts seen at every point). */
interface RelayStages {
  /** Capture tap → A sends the burst's first loud FRAME (MediaStreamTrackProcessor, 20 ms frame, encoder, sealer). */
  captureToWire: number[];
  /** A's FRAME sent → B's FORWARD received (transport, relay). */
  transit: number[];
  /** FORWARD received → onset where B's engine receives (open, jitter buffer, decoder, scheduler lookahead). */
  receiveChain: number[];
  /** Engine → after the loopback output (loopback RTCPeerConnection, its jitter buffer). */
  loopback: number[];
}

interface RelayLatency {
  engine: number[];
  ear: number[];
  stages: RelayStages;
  /** Loud / quiet message sizes seen, bytes (to check LOUD_FRAME_BYTES). */
  sizes: string;
  via: Record<string, number>;
}

function relayLatency(o: CallOnsets): RelayLatency {
  const out = wireOnsets(o.wireOut);
  const into = wireOnsets(o.wireIn);
  const stages: RelayStages = { captureToWire: [], transit: [], receiveChain: [], loopback: [] };
  for (const s of o.sent) {
    // The encoder reads the track apart from the capture tap's own AudioContext: it may see the onset first.
    const wo = firstAfter(out, s - 60);
    const wi = wo === undefined ? undefined : firstAfter(into, wo - 1, 300);
    const en = firstAfter(o.received, s);
    const ear = en === undefined ? undefined : firstAfter(o.ear, en - 30, 400);
    if (wo === undefined || wi === undefined || en === undefined || ear === undefined) continue;
    stages.captureToWire.push(wo - s);
    stages.transit.push(wi - wo);
    stages.receiveChain.push(en - wi);
    stages.loopback.push(ear - en);
  }
  const sizes = (log: [number, number][]) => log.map(([, n]) => n);
  const loud = sizes(o.wireOut).filter((n) => n >= LOUD_FRAME_BYTES);
  const quiet = sizes(o.wireOut).filter((n) => n < LOUD_FRAME_BYTES);
  const range = (l: number[]) => (l.length ? `${Math.min(...l)}–${Math.max(...l)} (${l.length})` : 'none');
  return {
    engine: latencies(o),
    ear: latencies({ sent: o.sent, received: o.ear }),
    stages,
    sizes: `loud ${range(loud)}, quiet ${range(quiet)}`,
    via: o.via,
  };
}

const stagesLine = (st: RelayStages) =>
  `capture→wire ${median(st.captureToWire).toFixed(1)}, transit ${median(st.transit).toFixed(1)}, receive chain ${median(st.receiveChain).toFixed(1)}, loopback ${median(st.loopback).toFixed(1)}`;

/**
 * In the page: the microphone sent over a bare RTCPeerConnection pair inside the tab,
 * candidates handed across directly; resolves with the received track, already
 * playing (muted) in a media element, which Chrome needs before Web Audio gets samples.
 */
const BARE_PAIR = `async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const p1 = new RTCPeerConnection(); const p2 = new RTCPeerConnection();
  p1.onicecandidate = (ev) => ev.candidate && p2.addIceCandidate(ev.candidate);
  p2.onicecandidate = (ev) => ev.candidate && p1.addIceCandidate(ev.candidate);
  const remote = new Promise((r) => (p2.ontrack = (ev) => r(ev.track)));
  p1.addTrack(mic.getAudioTracks()[0], mic);
  await p1.setLocalDescription(); await p2.setRemoteDescription(p1.localDescription);
  await p2.setLocalDescription(); await p1.setRemoteDescription(p2.localDescription);
  const track = await remote;
  const el = new Audio(); el.muted = true; el.srcObject = new MediaStream([track]); await el.play().catch(() => {});
  return { mic, track, p1, p2 };
}`;

/** Baseline: the same track over a bare RTCPeerConnection pair inside the tab. */
async function bareLatency(a: Page): Promise<number[]> {
  const onsets = (await a.evaluate(`(async () => {
    const { mic, track, p1, p2 } = await (${BARE_PAIR})();
    const ctx = new AudioContext();
    const tap = (t) => { const n = ctx.createAnalyser(); ctx.createMediaStreamSource(new MediaStream([t])).connect(n); return n; };
    globalThis.tcBenchRun = true;
    const sent = [], received = [];
    (${DETECTOR})(tap(mic.getAudioTracks()[0]), sent);
    (${DETECTOR})(tap(track), received);
    await new Promise((r) => setTimeout(r, ${(BURSTS + 1) * PERIOD_MS}));
    globalThis.tcBenchRun = false;
    for (const t of mic.getTracks()) t.stop();
    p1.close(); p2.close(); await ctx.close();
    return { sent, received };
  })()`)) as Onsets;
  return latencies(onsets);
}

/** Click → first audio energy from the joiner at a listener already in the call. */
async function joinToAudio(joiner: Page, listener: Page, joinerId: string, channel: string): Promise<number> {
  await listener.evaluate(`(() => {
    globalThis.tcFirst = undefined;
    const e = document.querySelector('tc-app').app.servers.value[0].voice.engine;
    const poll = () => {
      const p = e.participants.value.find((x) => x.userId === ${JSON.stringify(joinerId)});
      const probe = p && e.receivedAudio(p.peerId);
      if (probe && probe.rms() > 0.01) { globalThis.tcFirst = performance.timeOrigin + performance.now(); return; }
      setTimeout(poll, 2);
    };
    poll();
  })()`);
  const t0 = (await joiner.evaluate(`(() => {
    const t = performance.timeOrigin + performance.now();
    document.querySelector('tc-app').shadowRoot.querySelector('tc-channel-list').shadowRoot
      .querySelector('button.channel[data-id="${channel}"]').click();
    return t;
  })()`)) as number;
  await waitUntil(
    'first audio at the listener',
    async () => (await listener.evaluate('globalThis.tcFirst')) !== undefined,
  );
  return ((await listener.evaluate('globalThis.tcFirst')) as number) - t0;
}

/** Baseline: getUserMedia and a bare RTCPeerConnection pair in one tab, to first audio energy. */
async function bareJoin(page: Page): Promise<number> {
  return (await page.evaluate(`(async () => {
    const t0 = performance.now();
    const { mic, track, p1, p2 } = await (${BARE_PAIR})();
    const ctx = new AudioContext(); const n = ctx.createAnalyser();
    ctx.createMediaStreamSource(new MediaStream([track])).connect(n);
    const buf = new Float32Array(n.fftSize);
    for (;;) {
      n.getFloatTimeDomainData(buf);
      let sum = 0; for (const x of buf) sum += x * x;
      if (Math.sqrt(sum / buf.length) > 0.01) break;
      if (performance.now() - t0 > 20000) throw new Error('bare: no audio');
      await new Promise((r) => setTimeout(r, 2));
    }
    const ms = performance.now() - t0;
    for (const t of mic.getTracks()) t.stop(); p1.close(); p2.close(); await ctx.close();
    return ms;
  })()`)) as number;
}

/** Renderer CPU seconds of a browser so far. */
async function rendererCpu(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
    processInfo: { type: string; cpuTime: number }[];
  };
  await cdp.detach();
  return processInfo.filter((p) => p.type === 'renderer').reduce((s, p) => s + p.cpuTime, 0);
}

async function cpuPerTab(browser: Browser, tabs: number): Promise<number> {
  const before = await rendererCpu(browser);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
  const seconds = (Date.now() - t0) / 1000;
  return (((await rendererCpu(browser)) - before) / seconds / tabs) * 100;
}

type Member = { page: Page; id: string };

/** A member of the rig's server in a fresh page of `browser`; `hidden`: "hide my IP" before joining; `wireTap`: WIRE_TAP installed. */
function memberOf(rig: VoiceRig) {
  return async (browser: Browser, name: string, options: { hidden?: boolean; wireTap?: boolean } = {}) => {
    const page = await rig.page(browser, TIMEOUT_MS);
    if (options.wireTap) await page.context().addInitScript({ content: WIRE_TAP });
    if (options.hidden) {
      await page.goto(rig.server.url);
      await hideIp(page);
    }
    await joinByLink(page, await rig.invite(), name);
    const id = await core<string>(page, 'return s.meId;');
    return { page, id } satisfies Member;
  };
}

const ms = (list: readonly number[]) => list.map((v) => v.toFixed(0)).join(' ');
const leave = (m: Member) => core(m.page, 'await v.leave(); return true;');

/** Mouth → ear through TURN: two members with "hide my IP" on a server without a relay. */
async function turnLatency(log: (line: string) => void): Promise<number[]> {
  const rig = await voiceRig({ relay: false });
  try {
    if (!rig.coturn) {
      log(`no TURN figure: ${rig.missing}`);
      return [];
    }
    const member = memberOf(rig);
    const tone = toneWav({ frequency: 660, durationMs: 10_000, sampleRate: RATE });
    const ha = await member((await rig.browserWithMic('bursts', burstsWav()))!, 'HA', { hidden: true });
    const hb = await member((await rig.browserWithMic('tone', tone))!, 'HB', { hidden: true });
    await enterVoice(hb.page, rig.channel);
    await enterVoice(ha.page, rig.channel);
    await waitUntil('a TURN route', async () =>
      core<boolean>(
        hb.page,
        `const p = e.participants.value.find((x) => x.userId === ${JSON.stringify(ha.id)});
        const st = p && e.stats.value[p.peerId]; return !!st && st.route === 'turn';`,
      ),
    );
    const turn = await callLatency(ha.page, hb.page, ha.id, 'open-mic');
    log(`mouth→ear TURN ms: ${ms(turn)}`);
    return turn;
  } finally {
    await rig.close();
  }
}

type Mode = 'voice-activity' | 'open-mic';
const MODES: readonly Mode[] = ['voice-activity', 'open-mic'];

/** A direct call: A (bursts) and B, fresh members; `during` runs while both are still in it. */
async function directCall(
  rig: VoiceRig,
  browsers: { bursts: Browser; tone: Browser },
  n: number,
  during: (a: Member, b: Member) => Promise<void>,
): Promise<Record<Mode, number[]>> {
  const member = memberOf(rig);
  const a = await member(browsers.bursts, `A${n}`);
  const b = await member(browsers.tone, `B${n}`);
  await enterVoice(b.page, rig.channel);
  await enterVoice(a.page, rig.channel);
  const result = {} as Record<Mode, number[]>;
  for (const mode of MODES) result[mode] = await callLatency(a.page, b.page, a.id, mode);
  await during(a, b);
  await leave(a);
  await leave(b);
  await a.page.context().close();
  await b.page.context().close();
  return result;
}

/** A relay call: RA hides her IP (so the call of RA and RB is on the relay, checked on both). */
async function relayCall(
  rig: VoiceRig,
  browsers: { bursts: Browser; tone: Browser },
  n: number,
): Promise<Record<Mode, RelayLatency & { counts: string }>> {
  const member = memberOf(rig);
  const ra = await member(browsers.bursts, `RA${n}`, { hidden: true, wireTap: true });
  const rb = await member(browsers.tone, `RB${n}`, { wireTap: true });
  await enterVoice(rb.page, rig.channel);
  await enterVoice(ra.page, rig.channel);
  await waitUntil('both on the relay', async () => {
    for (const m of [ra, rb])
      if ((await core<string>(m.page, 'return v.route.value;')) !== 'relay') return false;
    return true;
  });
  /** RB's counters of RA's relay voice and of the loopback receiver, to see whether a setting makes audio choppy. */
  const counters = () =>
    core<Record<string, number>>(
      rb.page,
      `const st = e.relayStats(); const it = { ...(st && Object.values(st.senders).find((x) => x.userId === ${JSON.stringify(ra.id)})) };
      const report = await e.loopbackOutput.receiveConnection.getStats();
      report.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') Object.assign(it, { jbDelay: r.jitterBufferDelay, jbTarget: r.jitterBufferTargetDelay, jbEmitted: r.jitterBufferEmittedCount, loopConcealed: r.concealedSamples, loopSamples: r.totalSamplesReceived }); });
      return it;`,
    );
  const result = {} as Record<Mode, RelayLatency & { counts: string }>;
  for (const mode of MODES) {
    const before = await counters();
    const latency = relayLatency(await callOnsets(ra.page, rb.page, ra.id, mode, 'relay'));
    const after = await counters();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    const perEmitted = (k: string) => ((delta(k) / delta('jbEmitted')) * 1000).toFixed(1);
    const counts =
      `played ${delta('played')}, concealed ${delta('concealed')}, lost ${delta('lost')}, late ${delta('late')}, skipped ${delta('skipped')}, underruns ${delta('underruns')}, stalled ${delta('stalledFrames')}, target ${after.targetMs} ms; ` +
      `loopback jitter buffer ${perEmitted('jbDelay')} ms (target ${perEmitted('jbTarget')} ms), concealed ${((delta('loopConcealed') / Math.max(1, delta('loopSamples'))) * 100).toFixed(2)} %`;
    result[mode] = { ...latency, counts };
  }
  await leave(ra);
  await leave(rb);
  await ra.page.context().close();
  await rb.page.context().close();
  return result;
}

const bench: Bench = (log = () => undefined) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`voice bench: not done within ${DEADLINE_MS / 60_000} min`)),
      DEADLINE_MS,
    );
  });
  return Promise.race([measure(log), deadline]).finally(() => clearTimeout(timer));
};

async function measure(log: (line: string) => void): Promise<Figure[]> {
  const figures: Figure[] = [];
  const rig = await voiceRig();
  try {
    const { channel } = rig;
    const member = memberOf(rig);
    const tone = toneWav({ frequency: 660, durationMs: 10_000, sampleRate: RATE });
    const browsers = {
      bursts: (await rig.browserWithMic('bursts', burstsWav()))!,
      tone: (await rig.browserWithMic('tone', tone))!,
    };

    // Mouth → ear, direct and via the relay: CALLS calls of each, interleaved (a call's
    // phases — encoder frames, jitter buffers — are set when it starts, so calls differ
    // more than bursts do). While the first direct call is up: the bare baseline, and
    // join → first audio (J, a steady tone, joins while B listens; a fresh joiner each
    // time, since a member who leaves a call and joins again is not heard).
    const direct: Record<Mode, number[]> = { 'voice-activity': [], 'open-mic': [] };
    const relay: Record<Mode, { engine: number[]; ear: number[]; stages: RelayStages }> = {
      'voice-activity': {
        engine: [],
        ear: [],
        stages: { captureToWire: [], transit: [], receiveChain: [], loopback: [] },
      },
      'open-mic': {
        engine: [],
        ear: [],
        stages: { captureToWire: [], transit: [], receiveChain: [], loopback: [] },
      },
    };
    let bare: number[] = [];
    const joins: number[] = [];
    const bareJoins: number[] = [];
    for (let n = 0; n < CALLS; n++) {
      const d = await directCall(rig, browsers, n, async (a, b) => {
        if (n > 0) return;
        bare = await bareLatency(a.page);
        if (ONLY_MOUTH_TO_EAR) return;
        for (let i = 0; i < RUNS; i++) {
          const joiner = await member(browsers.tone, `J${i}`);
          joins.push(await joinToAudio(joiner.page, b.page, joiner.id, channel));
          await leave(joiner);
          bareJoins.push(await bareJoin(joiner.page));
          await joiner.page.context().close();
        }
      });
      log(
        `call ${n}: mouth→ear direct ms, voice activity: ${ms(d['voice-activity'])}; open mic: ${ms(d['open-mic'])}`,
      );
      const r = await relayCall(rig, browsers, n);
      for (const mode of MODES) {
        direct[mode].push(...d[mode]);
        const m = r[mode];
        const into = relay[mode];
        into.engine.push(...m.engine);
        into.ear.push(...m.ear);
        for (const k of Object.keys(into.stages) as (keyof RelayStages)[])
          into.stages[k].push(...m.stages[k]);
        log(
          `call ${n}: mouth→ear relay ms, ${mode}: engine ${ms(m.engine)}; after loopback ${ms(m.ear)}; stages (p50) ${stagesLine(m.stages)}; frames ${m.sizes}; via ${JSON.stringify(m.via)}; ${m.counts}`,
        );
      }
    }
    log(`bare ms: ${ms(bare)}`);
    for (const mode of MODES)
      log(`relay stages over all calls, ${mode} (p50 ms): ${stagesLine(relay[mode].stages)}`);

    if (joins.length > 0) {
      log(`join→audio ms: ${ms(joins)}; bare ${ms(bareJoins)}`);
      figures.push(
        figure(
          `join → first audio at a peer, median of ${RUNS}`,
          median(joins),
          'ms',
          'gUM + bare RTCPeerConnection pair',
          median(bareJoins),
        ),
      );
    }
    const va = direct['voice-activity'];
    const open = direct['open-mic'];
    figures.push(
      figure(
        `mouth → ear direct, p50 of ${va.length}`,
        median(va),
        'ms',
        'bare RTCPeerConnection pair, same track',
        median(bare),
      ),
      figure(
        'mouth → ear direct, p90',
        percentile(va, 90),
        'ms',
        'bare RTCPeerConnection pair, same track',
        percentile(bare, 90),
      ),
      figure(
        `mouth → ear direct, open mic, p50 of ${open.length}`,
        median(open),
        'ms',
        'bare RTCPeerConnection pair, same track',
        median(bare),
      ),
    );
    const relayRows: [string, number[], number[], string][] = [
      ['voice activity, at the engine', relay['voice-activity'].engine, va, 'direct call, voice activity'],
      ['voice activity, after the loopback', relay['voice-activity'].ear, va, 'direct call, voice activity'],
      ['open mic, at the engine', relay['open-mic'].engine, open, 'direct call, open mic'],
      ['open mic, after the loopback', relay['open-mic'].ear, open, 'direct call, open mic'],
    ];
    for (const [name, values, base, baseName] of relayRows)
      figures.push(
        figure(
          `mouth → ear via the relay, ${name}, p50 of ${values.length}`,
          median(values),
          'ms',
          baseName,
          median(base),
        ),
        figure(
          `mouth → ear via the relay, ${name}, p90`,
          percentile(values, 90),
          'ms',
          baseName,
          percentile(base, 90),
        ),
      );

    if (!ONLY_MOUTH_TO_EAR) {
      // CPU: four tabs in one browser, idle on the app, then in one call.
      const cpuBrowser = (await rig.browserWithMic('cpu', tone))!;
      const four: Member[] = [];
      for (let i = 0; i < 4; i++) four.push(await member(cpuBrowser, `C${i}`));
      const idle = await cpuPerTab(cpuBrowser, 4);
      for (const m of four) await enterVoice(m.page, channel);
      await waitUntil('a full 4-person mesh', async () => {
        for (const m of four)
          if ((await core<number>(m.page, 'return e.participants.value.length;')) < 3) return false;
        return true;
      });
      const inCall = await cpuPerTab(cpuBrowser, 4);
      log(`CPU per tab: idle ${idle.toFixed(1)} %, in a 4-person call ${inCall.toFixed(1)} %`);
      figures.push(
        figure('CPU of a tab in a 4-person mesh call', inCall, '% of a core', 'the same tab idle', idle),
      );
    }
  } finally {
    await rig.close();
    // The in-process relay's data channels (node-datachannel) would keep the process alive.
    (await import('node-datachannel')).cleanup();
  }

  if (!ONLY_MOUTH_TO_EAR) {
    const turn = await turnLatency(log);
    const openMic = figures.find((f) => f.name.startsWith('mouth → ear direct, open mic'));
    if (turn.length > 0 && openMic)
      figures.push(
        figure(
          `mouth → ear via TURN (coturn), open mic, p50 of ${turn.length}`,
          median(turn),
          'ms',
          'direct call, open mic (first server)',
          openMic.value,
        ),
      );
  }
  return figures;
}

export default bench;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatFigure } = await import('./figure.ts');
  for (const f of await bench(console.log)) console.log(formatFigure(f));
}
