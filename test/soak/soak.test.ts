/**
 * The soak's short form (run.ts), in `npm test`: 100 members of the real client core
 * against one signal server in its own process, joining in waves, chatting in two
 * text channels for 20 s (a message every 10 s each), with 5 s of churn at 50 leaves (and as many rejoins) a
 * second. Proves: no errors anywhere (client core, inboxes, server rejections and
 * warnings, unplanned drops); no message lost at any receiver it was owed to (every
 * receiver checked, not a sample); the server holds exactly one session per member
 * at the end (nothing leaked by churn); and its memory stays bounded. The long form
 * is `npm run soak`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport, heapGrowthMiB } from './report.ts';
import { runSoak } from './run.ts';
import { MiB } from './stats.ts';

const MEMBERS = 100;
const SECONDS = 20;
const CHURN = 50;
const CHURN_SECONDS = 5;
/** Live heap (after a full GC) may grow this much from the end of the ramp to the end. */
const HEAP_GROWTH_MIB = 8;
/** The server child's resident size, at most (it starts near 110 MiB: Node, tsx, SQLite). */
const RSS_MAX_MIB = 256;

describe('soak (short form)', () => {
  it(`${MEMBERS} members, ${SECONDS} s, churn ${CHURN}/s for ${CHURN_SECONDS} s: 0 errors, 0 lost, bounded memory`, {
    timeout: 180_000,
  }, async () => {
    const report = await runSoak({
      mode: 'core',
      keys: 'seeded',
      members: MEMBERS,
      seconds: SECONDS,
      channels: 2,
      intervalMs: 10_000,
      churn: CHURN,
      churnSeconds: CHURN_SECONDS,
      waves: 5,
      sampleMs: 5_000,
      settleMs: 30_000,
      log: () => {},
    });
    console.log(formatReport(report));
    const summary = `${JSON.stringify(report.errorsByKind)}; first: ${report.errorExamples.slice(0, 5).join(' | ')}`;
    assert.equal(report.errors, 0, `no errors (${summary})`);
    assert.equal(report.joins, MEMBERS, 'every member joined');
    // A message every 10 s on average for 20 s is ~2 per member; members away during churn skip theirs.
    assert.ok(
      report.sent >= MEMBERS,
      `members chatted: ${report.sent} messages sent (at least one per member)`,
    );
    assert.ok(report.leaves >= CHURN * CHURN_SECONDS * 0.8, `churn happened: ${report.leaves} leaves`);
    assert.equal(report.rejoins, report.leaves, 'every member that left came back');
    assert.ok(report.deliveredLive > report.expected / 2, 'most receipts were live pushes');
    assert.equal(
      report.lost,
      0,
      `no receipt lost of ${report.expected} owed: ${report.lostExamples.join('; ')}`,
    );
    const last = report.samples.at(-1);
    assert.ok(last, 'the server was sampled');
    assert.equal(last.sessions, MEMBERS, 'one server session per member at the end (none leaked by churn)');
    assert.equal(last.online, MEMBERS, 'every member online at the end');
    assert.ok(
      heapGrowthMiB(report) < HEAP_GROWTH_MIB,
      `server live heap grew ${heapGrowthMiB(report).toFixed(1)} MiB after the ramp (bound ${HEAP_GROWTH_MIB})`,
    );
    assert.ok(
      report.rssMax < RSS_MAX_MIB * MiB,
      `server rss peaked at ${(report.rssMax / MiB).toFixed(0)} MiB (bound ${RSS_MAX_MIB})`,
    );
  });
});
