/**
 * Fault: the signal server is SIGKILLed mid-conversation and restarted, three times.
 * Four members (the client core from Node, real sockets) keep sending through every
 * outage; their writes wait in the outbox. Proves: every client reconnects by itself
 * within a stated bound of the server listening again; every message written before,
 * during and after each outage is shown exactly once at every member and stored
 * exactly once by the server; the SQLite file passes `PRAGMA integrity_check` after
 * a final kill (no graceful close, so the check reads a crashed WAL database).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { toBase64url } from '../../crypto/bytes.ts';
import { peekMessageHeader } from '../../crypto/message.ts';
import { DB_FILE } from '../../signal/store/store.ts';
import type { Conversation } from '../../web/core/conversation.ts';
import { updateIds } from '../../web/core/doc-ids.ts';
import type { ServerSession } from '../../web/core/server-view.ts';
import { eventually, session } from '../../web/core/testing.ts';
import { member, type TestServer } from '../helpers/signal.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CYCLES = 3;
/** Each client must be online again within this long of the restarted server listening. */
const RECONNECT_BOUND_MS = 3_000;
/** How long the server stays dead while members keep writing. */
const OUTAGE_MS = 800;
/** Talk time before each kill and after each reconnect. */
const TALK_MS = 500;
const SEND_EVERY_MS = 100;
/** The whole test; node:test fails it past this. */
const TEST_TIMEOUT_MS = 90_000;

interface Child {
  proc: ChildProcess;
  port: number;
  /** When the child printed that it listens. */
  readyAt: number;
  stderr: string[];
}

function startChild(dataDir: string, port: number, webDir: string): Promise<Child> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/faults/server-child.ts'), dataDir, String(port), webDir],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Reconnect storms from one address must not trip the auth flood guard.
      env: {
        ...process.env,
        TINCAN_FAULT_OVERRIDES: JSON.stringify({ authAttemptsPerIp: { perSecond: 100, burst: 200 } }),
      },
    },
  );
  const stderr: string[] = [];
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server child did not report ready within 20 s; stderr: ${stderr.join('')}`));
    }, 20_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server child exited early (${code ?? signal}); stderr: ${stderr.join('')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // not our ready line
      }
      if (typeof msg !== 'object' || msg === null || (msg as { ready?: unknown }).ready !== true) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({ proc, port: Number((msg as { port: unknown }).port), readyAt: Date.now(), stderr });
    });
  });
}

function sigkill(child: Child): Promise<number> {
  return new Promise((resolve) => {
    child.proc.once('exit', () => resolve(Date.now()));
    child.proc.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the time `s` is next seen online (now, if it already is). */
function whenOnline(s: ServerSession): Promise<number> {
  return new Promise((resolve) => {
    const off = s.conn.onState((st) => {
      if (st.status === 'online') {
        off();
        resolve(Date.now());
      }
    });
  });
}

function whenDropped(s: ServerSession): Promise<void> {
  return new Promise((resolve) => {
    if (s.conn.state.status !== 'online') return resolve();
    const off = s.conn.onState((st) => {
      if (st.status !== 'online') {
        off();
        resolve();
      }
    });
  });
}

describe('fault: signal server SIGKILLed and restarted', () => {
  const people = [
    member(['admin'], 'alice'),
    member(['member'], 'bob'),
    member(['member'], 'carol'),
    member(['member'], 'dave'),
  ];
  const names = ['alice', 'bob', 'carol', 'dave'];
  let dataDir: string;
  let webDir: string;
  let child: Child | undefined;
  const sessions: ServerSession[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-kill-'));
    webDir = await mkdtemp(join(tmpdir(), 'tincan-kill-web-'));
    await writeFile(join(dataDir, 'authorized_keys'), people.map((p) => p.line).join(''));
  });
  after(async () => {
    for (const s of sessions) s.close();
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) await sigkill(child);
    await rm(dataDir, { recursive: true, force: true });
    await rm(webDir, { recursive: true, force: true });
  });

  it(`survives ${CYCLES} kill/restart cycles with every message exactly once everywhere`, {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    child = await startChild(dataDir, 0, webDir);
    const port = child.port;
    const wsUrl = `ws://127.0.0.1:${port}/ws`;
    // session() needs only wsUrl from a TestServer.
    const t = { wsUrl } as TestServer;
    for (const p of people) sessions.push(await session(t, p.identity));
    const channel = sessions[0]!.channels.value.find((c) => c.kind === 'text')?.id;
    assert.ok(channel, 'the server has a text channel');
    const convs: Conversation[] = sessions.map((s) => s.open(channel));

    // Warm up: everyone sees everyone (sender keys are distributed before the first outage).
    const written: string[] = [];
    for (const [i, c] of convs.entries()) {
      const text = `${names[i]} hello`;
      written.push(text);
      await c.send(text);
    }
    await eventually(() => {
      for (const [i, c] of convs.entries()) {
        const shown = c.messages.value.map((m) => m.text);
        for (const w of written) assert.ok(shown.includes(w), `${names[i]} sees '${w}' after warm-up`);
      }
    }, 10_000);

    // Every member writes every SEND_EVERY_MS, through every outage.
    let phase = 'before-1';
    let sending = true;
    const sendErrors: string[] = [];
    /** Writes made while that member was not online (they went through the outbox). */
    const offlineWrites = new Map<string, number>();
    const senders = convs.map(async (c, i) => {
      for (let n = 0; sending; n++) {
        const text = `${names[i]} ${phase} #${n}`;
        written.push(text);
        if (sessions[i]!.conn.state.status !== 'online')
          offlineWrites.set(phase, (offlineWrites.get(phase) ?? 0) + 1);
        try {
          await c.send(text);
        } catch (error) {
          sendErrors.push(`${text}: ${(error as Error).message}`);
        }
        await sleep(SEND_EVERY_MS);
      }
    });

    const timings: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      phase = `before-${cycle}`;
      await sleep(TALK_MS);
      const dropped = Promise.all(sessions.map(whenDropped));
      phase = `during-${cycle}`;
      const killedAt = await sigkill(child);
      await dropped;
      await sleep(OUTAGE_MS);
      const online = sessions.map(whenOnline);
      child = await startChild(dataDir, port, webDir);
      const readyAt = child.readyAt;
      const bound = sleep(RECONNECT_BOUND_MS).then(() => 'timeout' as const);
      const times = await Promise.all(online.map((p) => Promise.race([p, bound])));
      for (const [i, at] of times.entries())
        assert.ok(
          at !== 'timeout',
          `cycle ${cycle}: ${names[i]} back online within ${RECONNECT_BOUND_MS} ms of the server listening`,
        );
      const after = (times as number[]).map((at) => at - readyAt);
      const outage = (times as number[]).map((at) => at - killedAt);
      timings.push(
        `cycle ${cycle}: server down ${readyAt - killedAt} ms (kill → listening); ` +
          `listening → online per client [${after.join(', ')}] ms; kill → online [${outage.join(', ')}] ms`,
      );
      phase = `after-${cycle}`;
      await sleep(TALK_MS);
    }
    sending = false;
    await Promise.all(senders);
    for (let cycle = 1; cycle <= CYCLES; cycle++)
      assert.ok(
        (offlineWrites.get(`during-${cycle}`) ?? 0) >= people.length,
        `cycle ${cycle}: every member wrote while offline (${offlineWrites.get(`during-${cycle}`) ?? 0} writes)`,
      );
    assert.deepEqual(sendErrors, [], 'no send failed');

    // Every member shows every message written, exactly once, none pending.
    await eventually(() => {
      for (const [i, c] of convs.entries()) {
        const shown = c.messages.value;
        const counts = new Map<string, number>();
        for (const m of shown) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
        const missing = written.filter((w) => !counts.has(w));
        assert.deepEqual(missing, [], `${names[i]} misses no message`);
        const dup = [...counts].filter(([, n]) => n > 1).map(([w]) => w);
        assert.deepEqual(dup, [], `${names[i]} shows no message twice`);
        assert.equal(shown.length, written.length, `${names[i]} shows only what was written`);
        assert.ok(
          shown.every((m) => !m.pending),
          `${names[i]} has nothing left in the outbox`,
        );
      }
    }, 20_000);
    const ids = convs[0]!.messages.value.map((m) => m.id).sort();
    for (const [i, c] of convs.entries())
      assert.deepEqual(
        c.messages.value.map((m) => m.id).sort(),
        ids,
        `${names[i]} has the same ids as alice`,
      );

    // A last SIGKILL, then the crashed database is checked as the next start would find it.
    for (const s of sessions) s.close();
    await sigkill(child);
    const db = new Database(join(dataDir, DB_FILE));
    try {
      assert.deepEqual(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check');
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'the store runs in WAL mode');
      const rows = db
        .prepare("SELECT client_id AS id, blob FROM log_entries WHERE log = ? AND kind = 'update'")
        .all(channel) as { id: string | null; blob: Buffer }[];
      const stored = rows.map((r) => r.id);
      assert.equal(new Set(stored).size, stored.length, 'no update stored twice');
      // A message's id (its post id) follows from the stored header: sender, epoch, iteration.
      const storedPosts = rows.map((r) => {
        const h = peekMessageHeader(new Uint8Array(r.blob));
        assert.equal(toBase64url(h.id), r.id, 'the stored client id is the sealed message id');
        return updateIds(h.sender, channel, h.epoch, h.iteration).postId;
      });
      assert.deepEqual(storedPosts.sort(), ids, 'the server stores exactly one update per shown message');
    } finally {
      db.close();
    }

    console.log(`server-kill: ${written.length} messages by ${people.length} members, 0 lost, 0 duplicated`);
    console.log(
      `server-kill: written while offline, per outage: ${JSON.stringify(Object.fromEntries(offlineWrites))}`,
    );
    for (const line of timings) console.log(`server-kill: ${line}`);
  });
});
