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
 *   Direct, and with "hide my IP" through coturn. Baseline: the same onset method on a
 *   bare RTCPeerConnection pair inside A's tab carrying the same track. The output
 *   device's own latency is not in either (headless Chromium has no sound card).
 * - CPU of a tab in a 4-person mesh call: renderer CPU time of four tabs in one
 *   browser (Chromium's SystemInfo.getProcessInfo) over a window, per tab, in % of one
 *   core; baseline: the same four tabs open on the app, not in a call.
 *
 *   npm run bench -- voice        BENCH_VOICE_RUNS (joins, default 5)
 */
import type { Browser, Page } from 'playwright-core';
import { core, enterVoice, hideIp, joinByLink } from '../test/helpers/app-page.ts';
import { voiceRig } from '../test/helpers/voice-rig.ts';
import { encodeWav, toneWav } from '../web/voice/wav.ts';
import { type Bench, type Figure, figure, median, percentile } from './figure.ts';

const RUNS = Number(process.env.BENCH_VOICE_RUNS ?? 5);
const RATE = 48_000;
const BURST_MS = 150;
const PERIOD_MS = 1_000;
/** Onsets measured per latency figure. */
const BURSTS = 12;
const CPU_WINDOW_MS = 10_000;
const TIMEOUT_MS = 30_000;

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

/** Pairs each sent onset with the first received one within 400 ms after it. */
function latencies({ sent, received }: Onsets): number[] {
  const out: number[] = [];
  for (const s of sent) {
    const r = received.find((x) => x > s && x - s < 400);
    if (r !== undefined) out.push(r - s);
  }
  return out;
}

async function waitUntil(what: string, check: () => Promise<boolean>, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`voice bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mouth → ear between A (sender) and B, through the call they are both in. */
async function callLatency(a: Page, b: Page, aId: string, mode = 'voice-activity'): Promise<number[]> {
  await core(a, `e.setInputMode(${JSON.stringify(mode)}); return true;`);
  await waitUntil('B to receive A', () =>
    core<boolean>(
      b,
      `const p = e.participants.value.find((x) => x.userId === ${JSON.stringify(aId)}); return !!(p && e.receivedAudio(p.peerId));`,
    ),
  );
  await a.evaluate(`(() => {
    globalThis.tcBenchRun = true; globalThis.tcSent = [];
    const e = document.querySelector('tc-app').app.servers.value[0].voice.engine;
    const ctx = new AudioContext();
    const node = ctx.createAnalyser();
    ctx.createMediaStreamSource(new MediaStream([e.inputTrack])).connect(node);
    (${DETECTOR})(node, globalThis.tcSent);
  })()`);
  await b.evaluate(`(() => {
    globalThis.tcBenchRun = true; globalThis.tcReceived = [];
    const e = document.querySelector('tc-app').app.servers.value[0].voice.engine;
    const p = e.participants.value.find((x) => x.userId === ${JSON.stringify(aId)});
    (${DETECTOR})(e.receivedAudio(p.peerId).node, globalThis.tcReceived);
  })()`);
  await new Promise((r) => setTimeout(r, (BURSTS + 1) * PERIOD_MS));
  const sent = (await a.evaluate('(globalThis.tcBenchRun = false, globalThis.tcSent)')) as number[];
  const received = (await b.evaluate('(globalThis.tcBenchRun = false, globalThis.tcReceived)')) as number[];
  return latencies({ sent, received });
}

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

const bench: Bench = async (log = () => undefined) => {
  const rig = await voiceRig();
  try {
    const { invite, channel, server, coturn } = rig;
    const tone = toneWav({ frequency: 660, durationMs: 10_000, sampleRate: RATE });
    const burstBrowser = await rig.browserWithMic('bursts', burstsWav());
    const toneBrowser = await rig.browserWithMic('tone', tone);
    const cpuBrowser = await rig.browserWithMic('cpu', tone);
    const member = async (browser: Browser, name: string, hidden = false) => {
      const page = await rig.page(browser, TIMEOUT_MS);
      if (hidden) {
        await page.goto(server.url);
        await hideIp(page);
      }
      await joinByLink(page, await invite(), name);
      const id = await core<string>(page, 'return s.meId;');
      return { page, id };
    };

    // Mouth → ear, direct: A (bursts) to B.
    const a = await member(burstBrowser!, 'A');
    const b = await member(toneBrowser!, 'B');
    await enterVoice(b.page, channel);
    await enterVoice(a.page, channel);
    const direct = await callLatency(a.page, b.page, a.id);
    const openMic = await callLatency(a.page, b.page, a.id, 'open-mic');
    const bare = await bareLatency(a.page);
    const ms = (list: number[]) => list.map((v) => v.toFixed(0)).join(' ');
    log(`mouth→ear direct ms, voice activity: ${ms(direct)}; open mic: ${ms(openMic)}; bare ${ms(bare)}`);

    // Join → first audio: J (steady tone) joins while B listens.
    const joins: number[] = [];
    const bares: number[] = [];
    const joiner = await member(toneBrowser!, 'J');
    for (let i = 0; i < RUNS; i++) {
      joins.push(await joinToAudio(joiner.page, b.page, joiner.id, channel));
      await core(joiner.page, 'await v.leave(); return true;');
      bares.push(await bareJoin(joiner.page));
    }
    log(
      `join→audio ms: ${joins.map((v) => v.toFixed(0)).join(' ')}; bare ${bares.map((v) => v.toFixed(0)).join(' ')}`,
    );
    await core(a.page, 'await v.leave(); return true;');
    await core(b.page, 'await v.leave(); return true;');

    // Mouth → ear through TURN: two members with "hide my IP".
    let turn: number[] = [];
    if (coturn) {
      const ha = await member(burstBrowser!, 'HA', true);
      const hb = await member(toneBrowser!, 'HB', true);
      await enterVoice(hb.page, channel);
      await enterVoice(ha.page, channel);
      await waitUntil('a TURN route', async () =>
        core<boolean>(
          hb.page,
          `const p = e.participants.value.find((x) => x.userId === ${JSON.stringify(ha.id)});
          const st = p && e.stats.value[p.peerId]; return !!st && st.route === 'turn';`,
        ),
      );
      turn = await callLatency(ha.page, hb.page, ha.id, 'open-mic');
      log(`mouth→ear TURN ms: ${turn.map((v) => v.toFixed(0)).join(' ')}`);
      await core(ha.page, 'await v.leave(); return true;');
      await core(hb.page, 'await v.leave(); return true;');
    } else log('coturn is not installed: no TURN figure');

    // CPU: four tabs in one browser, idle on the app, then in one call.
    const four: { page: Page; id: string }[] = [];
    for (let i = 0; i < 4; i++) four.push(await member(cpuBrowser!, `C${i}`));
    const idle = await cpuPerTab(cpuBrowser!, 4);
    for (const m of four) await enterVoice(m.page, channel);
    await waitUntil('a full 4-person mesh', async () => {
      for (const m of four)
        if ((await core<number>(m.page, 'return e.participants.value.length;')) < 3) return false;
      return true;
    });
    const inCall = await cpuPerTab(cpuBrowser!, 4);
    log(`CPU per tab: idle ${idle.toFixed(1)} %, in a 4-person call ${inCall.toFixed(1)} %`);

    const figures: Figure[] = [
      figure(
        `join → first audio at a peer, median of ${RUNS}`,
        median(joins),
        'ms',
        'gUM + bare RTCPeerConnection pair',
        median(bares),
      ),
      figure(
        `mouth → ear direct, p50 of ${direct.length}`,
        median(direct),
        'ms',
        'bare RTCPeerConnection pair, same track',
        median(bare),
      ),
      figure(
        'mouth → ear direct, p90',
        percentile(direct, 90),
        'ms',
        'bare RTCPeerConnection pair, same track',
        percentile(bare, 90),
      ),
      figure(
        `mouth → ear direct, open mic, p50 of ${openMic.length}`,
        median(openMic),
        'ms',
        'bare RTCPeerConnection pair, same track',
        median(bare),
      ),
    ];
    if (turn.length > 0)
      figures.push(
        figure(
          `mouth → ear via TURN (coturn), open mic, p50 of ${turn.length}`,
          median(turn),
          'ms',
          'direct call, open mic',
          median(openMic),
        ),
      );
    figures.push(
      figure('CPU of a tab in a 4-person mesh call', inCall, '% of a core', 'the same tab idle', idle),
    );
    return figures;
  } finally {
    await rig.close();
  }
};

export default bench;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatFigure } = await import('./figure.ts');
  for (const f of await bench(console.log)) console.log(formatFigure(f));
}
