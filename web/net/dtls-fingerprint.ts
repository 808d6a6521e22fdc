/**
 * The DTLS certificate fingerprint an SDP carries (RFC 8122 §5: `a=fingerprint:`
 * `hash-func SP fingerprint`, uppercase hex pairs joined by colons). The mesh
 * handshake signs these, so this reads them strictly: SHA-256 only (RFC 8827 §6.5
 * requires browsers to offer it), normalised to `sha-256 AB:CD:…`, and nothing when
 * an SDP names two different SHA-256 certificates (BUNDLE puts one certificate on
 * every m-section; two would leave "the" fingerprint ambiguous).
 */

const LINE = /^a=fingerprint:(\S+) (\S+)\s*$/gim;
const SHA256_HEX = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

/** `sha-256 AB:…` (32 pairs) from `sdp`, or undefined when absent, malformed or ambiguous. */
export function dtlsFingerprint(sdp: string): string | undefined {
  if (typeof sdp !== 'string') return undefined;
  let found: string | undefined;
  for (const [, hash, value] of sdp.matchAll(LINE)) {
    if (hash?.toLowerCase() !== 'sha-256') continue;
    const hex = value!.toUpperCase();
    if (!SHA256_HEX.test(hex)) return undefined;
    if (found !== undefined && found !== hex) return undefined;
    found = hex;
  }
  return found === undefined ? undefined : `sha-256 ${found}`;
}

/**
 * The fingerprints of the DTLS association `pc` negotiated: its own certificate (from
 * its local description) and the remote one it checks the peer against (from its
 * remote description). Undefined until both descriptions are set.
 */
export function linkFingerprints(pc: RTCPeerConnection): { local: string; remote: string } | undefined {
  const local = pc.currentLocalDescription ?? pc.localDescription;
  const remote = pc.currentRemoteDescription ?? pc.remoteDescription;
  if (!local || !remote) return undefined;
  const l = dtlsFingerprint(local.sdp);
  const r = dtlsFingerprint(remote.sdp);
  return l && r ? { local: l, remote: r } : undefined;
}

/**
 * `linkFingerprints` once both descriptions are visible, waiting up to `ms`. Chromium
 * can open a connection's data channel while the remote answer it is applying is not
 * yet visible (the offerer is still in `have-local-offer`): DTLS already checked the
 * answer's fingerprint, the `setRemoteDescription` promise has not resolved yet.
 */
export function settledLinkFingerprints(
  pc: RTCPeerConnection,
  ms: number,
): Promise<{ local: string; remote: string } | undefined> {
  const now = linkFingerprints(pc);
  if (now || pc.signalingState === 'closed') return Promise.resolve(now);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener('signalingstatechange', check);
      resolve(linkFingerprints(pc));
    };
    const check = (): void => {
      if (linkFingerprints(pc) || pc.signalingState === 'closed') done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener('signalingstatechange', check);
  });
}
