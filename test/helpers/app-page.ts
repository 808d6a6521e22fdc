/**
 * Driving the real web app (dist/app.js) in a playwright page: joining by an invite
 * link the way a person does, entering a voice channel, and reaching the page's client
 * core through `<tc-app>` for what a person cannot see (stats, probes). Shared by the
 * voice end-to-end suite and the voice benchmark. Node-only.
 */
import type { Page } from 'playwright-core';
import { strongestTone } from '../../web/voice/tone.ts';

/** The page's first server (`s`), its voice call (`v`) and the call's engine (`e`). */
const CORE = `(() => {
  const s = document.querySelector('tc-app').app.servers.value[0];
  return { s, v: s && s.voice, e: s && s.voice && s.voice.engine };
})()`;

/** Runs `body` (an async function body that sees `s`, `v`, `e`) in the page and returns its result. */
export function core<T>(page: Page, body: string): Promise<T> {
  return page.evaluate(`(async () => { const { s, v, e } = ${CORE}; ${body} })()`) as Promise<T>;
}

/** The strongest of `candidates` (Hz) in what the page's engine receives from `userId` now (undefined: nothing yet). */
export function receivedTone(
  page: Page,
  userId: string,
  candidates: readonly number[],
): Promise<number | undefined> {
  return core<{ samples: number[]; rate: number } | null>(
    page,
    `const p = e.participants.value.filter((x) => x.userId === ${JSON.stringify(userId)}).at(-1);
     const probe = p && e.receivedAudio(p.peerId);
     return probe ? { samples: Array.from(probe.samples()), rate: probe.sampleRate } : null;`,
  ).then((r) => (r ? strongestTone(r.samples, r.rate, [...candidates]) : undefined));
}

/** The transport of the page's relay link (`datachannel`, `websocket`), as its route indicator reports it; null off the relay. */
export function relayTransport(page: Page): Promise<string | null> {
  return core(
    page,
    `const p = e.participants.value.find((x) => x.via === 'relay');
     const st = p && e.relayPeerStats(p.peerId);
     return st ? st.transport : null;`,
  );
}

/** The video tiles the page's call shows: whose, what kind, and whether the track is live. */
export function tilesOf(page: Page): Promise<{ kind: string; userId: string; live: boolean }[]> {
  return core(
    page,
    'return e.tiles.value.map((t) => ({ kind: t.kind, userId: t.userId, live: t.track.readyState === "live" }));',
  );
}

export async function joinByLink(page: Page, link: string, name: string): Promise<void> {
  await page.goto(link);
  await page.getByLabel('Your display name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('button', { name: /^Open / }).click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

/** Clicks a voice channel and waits for "Voice connected" (or throws with the call's state). */
export async function enterVoice(page: Page, channel: string): Promise<void> {
  await page.locator(`tc-channel-list button.channel[data-id="${channel}"]`).click();
  try {
    await page.locator('tc-voice:not([compact])').getByRole('status').getByText('Voice connected').waitFor();
  } catch (error) {
    const state = await core(
      page,
      'return { status: v.status.value, channel: v.channel.value, problem: v.problem.value, error: e.error.value && e.error.value.message };',
    );
    throw new Error(`expected to be in the call of ${channel}: ${JSON.stringify(state)}`, { cause: error });
  }
}

/** Sets "hide my IP" on a page that shows the app (before it joins anything). */
export async function hideIp(page: Page): Promise<void> {
  await page.waitForFunction(() => (document.querySelector('tc-app') as unknown as { app?: object }).app);
  await page.evaluate(() => {
    const app = (document.querySelector('tc-app') as unknown as { app: { updateSettings(p: object): void } })
      .app;
    app.updateSettings({ hideIp: true });
  });
}
