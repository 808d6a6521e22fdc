/**
 * The getStats() summary: route from the selected candidate pair, rtt, loss per
 * interval, jitter, codec; shapes taken from Chromium 156's reports (trimmed), plus
 * Firefox's `selected` flag and junk that must be ignored.
 */
import assert from 'node:assert/strict';
import { summarizeStats } from './peer-stats.ts';

type Stat = Record<string, unknown>;
const report = (...stats: Stat[]) => new Map<string, unknown>(stats.map((s) => [String(s.id), s]));

const transport = (pairId?: string): Stat => ({
  id: 'T01',
  type: 'transport',
  timestamp: 1000,
  dtlsState: 'connected',
  ...(pairId ? { selectedCandidatePairId: pairId } : {}),
});
const pair = (id: string, local: string, remote: string, extra: Stat = {}): Stat => ({
  id,
  type: 'candidate-pair',
  timestamp: 1000,
  localCandidateId: local,
  remoteCandidateId: remote,
  state: 'succeeded',
  nominated: true,
  currentRoundTripTime: 0.012,
  ...extra,
});
const candidate = (
  id: string,
  type: 'local-candidate' | 'remote-candidate',
  candidateType: string,
): Stat => ({
  id,
  type,
  timestamp: 1000,
  candidateType,
  protocol: 'udp',
  address: '192.0.2.2',
});
const inbound = (packetsReceived: number, packetsLost: number, extra: Stat = {}): Stat => ({
  id: 'IT01A1',
  type: 'inbound-rtp',
  kind: 'audio',
  timestamp: 1000,
  codecId: 'CIT01_111',
  jitter: 0.004,
  packetsReceived,
  packetsLost,
  ...extra,
});
const codec: Stat = { id: 'CIT01_111', type: 'codec', mimeType: 'audio/opus', clockRate: 48000 };
const hostPair = [
  transport('CP1'),
  pair('CP1', 'L1', 'R1'),
  candidate('L1', 'local-candidate', 'host'),
  candidate('R1', 'remote-candidate', 'host'),
];

describe('peer stats', () => {
  it('reads a direct host link with Opus audio', () => {
    const stats = summarizeStats(
      report(...hostPair, inbound(500, 0), codec, {
        id: 'OT01A2',
        type: 'outbound-rtp',
        kind: 'audio',
        packetsSent: 480,
      }),
    );
    assert.equal(stats.route, 'direct', 'host ↔ host is direct');
    assert.deepEqual(
      [stats.localCandidateType, stats.remoteCandidateType, stats.protocol],
      ['host', 'host', 'udp'],
    );
    assert.equal(stats.rttMs, 12, 'rtt from currentRoundTripTime, in ms');
    assert.equal(stats.jitterMs, 4, 'jitter in ms');
    assert.equal(stats.loss, 0, 'no loss');
    assert.equal(stats.codec, 'audio/opus', 'codec from codecId');
    assert.deepEqual([stats.packetsReceived, stats.packetsSent], [500, 480], 'packet counts');
    assert.equal(stats.timestamp, 1000, 'timestamp');
  });

  it('says turn when either end of the selected pair is a relay candidate', () => {
    for (const [local, remote] of [
      ['relay', 'host'],
      ['host', 'relay'],
      ['relay', 'relay'],
    ] as const) {
      const stats = summarizeStats(
        report(
          transport('CP1'),
          pair('CP1', 'L1', 'R1'),
          candidate('L1', 'local-candidate', local),
          candidate('R1', 'remote-candidate', remote),
        ),
      );
      assert.equal(stats.route, 'turn', `${local} ↔ ${remote} goes through TURN`);
    }
    const srflx = summarizeStats(
      report(
        transport('CP1'),
        pair('CP1', 'L1', 'R1'),
        candidate('L1', 'local-candidate', 'srflx'),
        candidate('R1', 'remote-candidate', 'prflx'),
      ),
    );
    assert.equal(srflx.route, 'direct', 'reflexive candidates are still direct');
  });

  it('follows the transport’s selected pair over other nominated pairs', () => {
    const stats = summarizeStats(
      report(
        transport('CP2'),
        pair('CP1', 'L1', 'R1', { bytesReceived: 10_000 }),
        pair('CP2', 'L2', 'R1', { currentRoundTripTime: 0.05 }),
        candidate('L1', 'local-candidate', 'host'),
        candidate('L2', 'local-candidate', 'relay'),
        candidate('R1', 'remote-candidate', 'host'),
      ),
    );
    assert.equal(stats.route, 'turn', 'the selected pair (CP2) is the relay one');
    assert.equal(stats.rttMs, 50, 'its rtt');
  });

  it('falls back to the `selected` flag, then to a working nominated pair', () => {
    const firefox = summarizeStats(
      report(
        pair('CP1', 'L1', 'R1', { selected: false }),
        pair('CP2', 'L2', 'R1', { selected: true }),
        candidate('L1', 'local-candidate', 'host'),
        candidate('L2', 'local-candidate', 'relay'),
        candidate('R1', 'remote-candidate', 'host'),
      ),
    );
    assert.equal(firefox.route, 'turn', 'the pair flagged selected');
    const nominated = summarizeStats(
      report(
        transport(),
        pair('CP1', 'L1', 'R1', { state: 'failed' }),
        pair('CP2', 'L2', 'R1'),
        candidate('L1', 'local-candidate', 'relay'),
        candidate('L2', 'local-candidate', 'host'),
        candidate('R1', 'remote-candidate', 'host'),
      ),
    );
    assert.equal(nominated.route, 'direct', 'the nominated pair that succeeded');
  });

  it('has no route, rtt or loss before a link or any audio', () => {
    const stats = summarizeStats(report(transport()));
    assert.deepEqual(
      [stats.route, stats.rttMs, stats.loss, stats.jitterMs, stats.codec],
      [null, null, null, null, null],
      'nothing known yet',
    );
  });

  it('computes loss per interval from the previous summary', () => {
    const first = summarizeStats(report(...hostPair, inbound(90, 10)));
    assert.ok(Math.abs((first.loss ?? -1) - 0.1) < 1e-9, `first sample: 10 of 100 lost (${first.loss})`);
    const second = summarizeStats(report(...hostPair, inbound(180, 10)), first);
    assert.equal(second.loss, 0, 'none lost since');
    const third = summarizeStats(report(...hostPair, inbound(230, 60)), second);
    assert.ok(Math.abs((third.loss ?? -1) - 0.5) < 1e-9, `50 of 100 lost in the interval (${third.loss})`);
    const idle = summarizeStats(report(...hostPair, inbound(230, 60)), third);
    assert.equal(idle.loss, null, 'no packets in the interval: unknown');
    const restarted = summarizeStats(report(...hostPair, inbound(20, 0)), third);
    assert.equal(restarted.loss, 0, 'counters went back (new tracks): start over');
  });

  it('uses RTCP figures as fallbacks and ignores video and junk', () => {
    const stats = summarizeStats(
      report(
        transport('CP1'),
        pair('CP1', 'L1', 'R1', { currentRoundTripTime: undefined }),
        candidate('L1', 'local-candidate', 'host'),
        candidate('R1', 'remote-candidate', 'host'),
        { id: 'RI1', type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.02, fractionLost: 0.25 },
        inbound(100, 0, { id: 'IV', kind: 'video', packetsLost: 50, jitter: 9 }),
        { id: 'junk1', type: 'inbound-rtp', kind: 'audio', packetsReceived: '12', packetsLost: null },
      ),
    );
    assert.equal(stats.rttMs, 20, 'rtt from remote-inbound-rtp');
    assert.equal(stats.remoteLoss, 0.25, 'what the peer reports lost of ours');
    assert.equal(stats.packetsReceived, 0, 'video and non-number fields are not counted');
    assert.equal(stats.jitterMs, null, 'video jitter is not audio jitter');
    const weird = summarizeStats(
      new Map<string, unknown>([
        ['x', null],
        ['y', 42],
        ['z', 'str'],
      ]),
    );
    assert.equal(weird.route, null, 'non-object entries are skipped');
  });
});
