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
import { toneWav } from '../web/voice/wav.ts';
import { type Bench, type Figure, figure, median, percentile } from './figure.ts';
import {
  BARE_PAIR,
  bareLatency,
  burstsWav,
  callLatency,
  callOnsets,
  RATE,
  type RelayLatency,
  type RelayStages,
  relayLatency,
  stagesLine,
  TIMEOUT_MS,
  WIRE_TAP,
  waitUntil,
} from './mouth-to-ear.ts';

const RUNS = Number(process.env.BENCH_VOICE_RUNS ?? 5);
const ONLY_MOUTH_TO_EAR = process.env.BENCH_VOICE_ONLY === 'mouth-to-ear';
/** Calls of each kind (direct, relay) for the mouth → ear figures, interleaved. */
const CALLS = Number(process.env.BENCH_VOICE_CALLS ?? 2);
const CPU_WINDOW_MS = 10_000;
/** The whole bench, every part included: past it the run fails rather than hangs. */
const DEADLINE_MS = 12 * 60_000;
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
