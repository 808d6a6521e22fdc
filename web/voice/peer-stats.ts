/**
 * Per-peer link quality from one RTCPeerConnection's `getStats()`: the route
 * (direct, or through TURN when either end of the selected candidate pair is a
 * relay candidate), round-trip time, loss and jitter of the audio we receive.
 * Pure: reads a stats report (any map of id → stats object; nothing is cast) and
 * the previous summary, so loss is per interval rather than since the call began.
 */

export type PeerRoute = 'direct' | 'turn';

export interface PeerStats {
  /** null until a candidate pair is selected. */
  route: PeerRoute | null;
  /** Candidate types of the selected pair ('host', 'srflx', 'prflx', 'relay'). */
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** 'udp' or 'tcp' of the local candidate. */
  protocol: string | null;
  /** Round-trip time in ms (ICE consent checks; RTCP as a fallback). */
  rttMs: number | null;
  /** Fraction 0–1 of the peer's audio packets lost since the previous sample (or since the start). */
  loss: number | null;
  /** Fraction 0–1 of our audio the peer reports lost (RTCP receiver reports). */
  remoteLoss: number | null;
  /** Interarrival jitter of the peer's audio, ms. */
  jitterMs: number | null;
  /** Audio packets received from / sent to the peer, cumulative. */
  packetsReceived: number;
  packetsLost: number;
  packetsSent: number;
  /** MIME type of the audio codec we receive ('audio/opus'), null before any audio. */
  codec: string | null;
  /** When the report was taken (ms, the stats' own clock). */
  timestamp: number;
}

type Stat = Record<string, unknown>;

const isStat = (value: unknown): value is Stat => typeof value === 'object' && value !== null;
const str = (stat: Stat | undefined, key: string): string | undefined => {
  const value = stat?.[key];
  return typeof value === 'string' ? value : undefined;
};
const num = (stat: Stat | undefined, key: string): number | undefined => {
  const value = stat?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

function statsById(report: ReadonlyMap<string, unknown>): Map<string, Stat> {
  const byId = new Map<string, Stat>();
  report.forEach((value, key) => {
    if (isStat(value)) byId.set(str(value, 'id') ?? key, value);
  });
  return byId;
}

/** The selected candidate pair: the transport's pointer, else `selected` (Firefox), else a working nominated pair. */
function selectedPair(byId: Map<string, Stat>): Stat | undefined {
  const all = [...byId.values()];
  for (const stat of all) {
    if (str(stat, 'type') !== 'transport') continue;
    const id = str(stat, 'selectedCandidatePairId');
    const pair = id === undefined ? undefined : byId.get(id);
    if (pair) return pair;
  }
  const pairs = all.filter((s) => str(s, 'type') === 'candidate-pair');
  const flagged = pairs.find((s) => s.selected === true);
  if (flagged) return flagged;
  const working = pairs.filter((s) => s.nominated === true && str(s, 'state') === 'succeeded');
  working.sort((a, b) => (num(b, 'bytesReceived') ?? 0) - (num(a, 'bytesReceived') ?? 0));
  return working[0];
}

const isAudio = (stat: Stat): boolean => (str(stat, 'kind') ?? str(stat, 'mediaType')) === 'audio';

export function summarizeStats(report: ReadonlyMap<string, unknown>, previous?: PeerStats): PeerStats {
  const byId = statsById(report);
  const pair = selectedPair(byId);
  const local = byId.get(str(pair, 'localCandidateId') ?? '');
  const remote = byId.get(str(pair, 'remoteCandidateId') ?? '');
  const localType = str(local, 'candidateType') ?? null;
  const remoteType = str(remote, 'candidateType') ?? null;
  let route: PeerRoute | null = null;
  if (localType !== null || remoteType !== null)
    route = localType === 'relay' || remoteType === 'relay' ? 'turn' : 'direct';

  let packetsReceived = 0;
  let packetsLost = 0;
  let packetsSent = 0;
  let jitter: number | undefined;
  let codec: string | null = null;
  let remoteRtt: number | undefined;
  let remoteLoss: number | undefined;
  let timestamp = 0;
  for (const stat of byId.values()) {
    timestamp = Math.max(timestamp, num(stat, 'timestamp') ?? 0);
    const type = str(stat, 'type');
    if (type === 'inbound-rtp' && isAudio(stat)) {
      packetsReceived += num(stat, 'packetsReceived') ?? 0;
      packetsLost += Math.max(0, num(stat, 'packetsLost') ?? 0);
      const j = num(stat, 'jitter');
      if (j !== undefined) jitter = Math.max(jitter ?? 0, j);
      const mime = str(byId.get(str(stat, 'codecId') ?? ''), 'mimeType');
      if (mime !== undefined) codec = mime;
    } else if (type === 'outbound-rtp' && isAudio(stat)) {
      packetsSent += num(stat, 'packetsSent') ?? 0;
    } else if (type === 'remote-inbound-rtp' && isAudio(stat)) {
      const rtt = num(stat, 'roundTripTime');
      if (rtt !== undefined) remoteRtt = rtt;
      const fraction = num(stat, 'fractionLost');
      if (fraction !== undefined) remoteLoss = Math.max(remoteLoss ?? 0, fraction);
    }
  }

  // A previous sample with more packets than now belongs to an earlier track set: start over.
  const base =
    previous && previous.packetsReceived <= packetsReceived && previous.packetsLost <= packetsLost
      ? previous
      : undefined;
  const received = packetsReceived - (base?.packetsReceived ?? 0);
  const lost = packetsLost - (base?.packetsLost ?? 0);
  const loss = received + lost > 0 ? lost / (received + lost) : null;

  const pairRtt = num(pair, 'currentRoundTripTime');
  const rtt = pairRtt ?? remoteRtt;
  return {
    route,
    localCandidateType: localType,
    remoteCandidateType: remoteType,
    protocol: str(local, 'protocol') ?? null,
    rttMs: rtt === undefined ? null : rtt * 1000,
    loss,
    remoteLoss: remoteLoss ?? null,
    jitterMs: jitter === undefined ? null : jitter * 1000,
    packetsReceived,
    packetsLost,
    packetsSent,
    codec,
    timestamp,
  };
}
