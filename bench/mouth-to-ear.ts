/**
 * The mouth → ear method of bench/voice.bench.ts: tone bursts from A's fake
 * microphone, onset detectors in the pages (A's capture tap, B's engine tap, B's
 * ear), the relay's FRAME and FORWARD messages timed on the wire, and the bare
 * RTCPeerConnection pair the direct figures are compared with. The figures, their
 * baselines and the order of the calls are voice.bench.ts's.
 */
import type { Page } from 'playwright-core';
import { core } from '../test/helpers/app-page.ts';
import { encodeWav } from '../web/voice/wav.ts';
import { median } from './figure.ts';

export const RATE = 48_000;
const BURST_MS = 150;
const PERIOD_MS = 1_000;
/** Onsets measured per call and mode. */
const BURSTS = Number(process.env.BENCH_VOICE_BURSTS ?? 12);
/** A received onset belongs to the sent one before it when it comes within this (the next burst is 1 s later). */
const PAIR_MS = 700;
/** A relay message this large (type byte + sealed Opus) carries the tone; silence encodes far smaller. */
const LOUD_FRAME_BYTES = 40;
export const TIMEOUT_MS = 30_000;

/** Tone bursts: BURST_MS of 1 kHz every PERIOD_MS, silence between (the file loops). */
export function burstsWav(): Uint8Array {
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

export interface Onsets {
  sent: number[];
  received: number[];
}

/** The first of `list` in (`from`, `from` + `within`], or undefined. */
function firstAfter(list: readonly number[], from: number, within = PAIR_MS): number | undefined {
  return list.find((x) => x > from && x - from <= within);
}

/** Pairs each sent onset with the first received one within PAIR_MS after it. */
export function latencies({ sent, received }: Onsets): number[] {
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
export const WIRE_TAP = `(() => {
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
export interface CallOnsets extends Onsets {
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

export async function waitUntil(what: string, check: () => Promise<boolean>, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`voice bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mouth → ear between A (sender) and B, through the call they are both in (on `via`). */
export async function callOnsets(
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

export async function callLatency(
  a: Page,
  b: Page,
  aId: string,
  mode: 'voice-activity' | 'open-mic' = 'voice-activity',
) {
  return latencies(await callOnsets(a, b, aId, mode, 'mesh'));
}

/** Per burst, ms: where the time of a relay burst went (bursts seen at every point). */
export interface RelayStages {
  /** Capture tap → A sends the burst's first loud FRAME (MediaStreamTrackProcessor, 20 ms frame, encoder, sealer). */
  captureToWire: number[];
  /** A's FRAME sent → B's FORWARD received (transport, relay). */
  transit: number[];
  /** FORWARD received → onset where B's engine receives (open, jitter buffer, decoder, scheduler lookahead). */
  receiveChain: number[];
  /** Engine → after the loopback output (loopback RTCPeerConnection, its jitter buffer). */
  loopback: number[];
}

export interface RelayLatency {
  engine: number[];
  ear: number[];
  stages: RelayStages;
  /** Loud / quiet message sizes seen, bytes (to check LOUD_FRAME_BYTES). */
  sizes: string;
  via: Record<string, number>;
}

export function relayLatency(o: CallOnsets): RelayLatency {
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

export const stagesLine = (st: RelayStages) =>
  `capture→wire ${median(st.captureToWire).toFixed(1)}, transit ${median(st.transit).toFixed(1)}, receive chain ${median(st.receiveChain).toFixed(1)}, loopback ${median(st.loopback).toFixed(1)}`;

/**
 * In the page: the microphone sent over a bare RTCPeerConnection pair inside the tab,
 * candidates handed across directly; resolves with the received track, already
 * playing (muted) in a media element, which Chrome needs before Web Audio gets samples.
 */
export const BARE_PAIR = `async () => {
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
export async function bareLatency(a: Page): Promise<number[]> {
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
