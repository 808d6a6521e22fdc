/**
 * The relay's address as clients should dial it, behind a 1:1 NAT (a cloud VM whose
 * interface has a private address and whose public one is mapped onto it port for
 * port): each UDP host candidate of the relay's ICE gets a twin on the announced
 * address, the same port, so clients on the internet reach the data channel while
 * those on the private network keep the original. mediasoup's `announcedAddress`
 * and Janus's `nat_1_1_mapping` do the same.
 *
 * Candidate lines follow RFC 8839 §5.1:
 * `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …`.
 */
import { isIP } from 'node:net';

const CANDIDATE = /^(a=)?candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$/i;

export interface Twin {
  readonly line: string;
  /** Component and port: host candidates on several addresses of one socket share one twin. */
  readonly key: string;
}

/** The twin of one candidate on `announced`, or undefined when it gets none (not UDP host, other family, already there). */
export function announcedTwin(candidate: string, announced: string): Twin | undefined {
  const m = CANDIDATE.exec(candidate.trim());
  if (!m) return undefined;
  const [, prefix = '', foundation, component, transport, priority, address, port, type, rest] = m;
  if (transport!.toLowerCase() !== 'udp' || type!.toLowerCase() !== 'host') return undefined;
  if (isIP(address!) !== isIP(announced) || address === announced) return undefined;
  // Its own foundation (another base address), ranked just below the original.
  const twinPriority = Math.max(0, Number(priority) - 1);
  return {
    line: `${prefix}candidate:${foundation}a ${component} ${transport} ${twinPriority} ${announced} ${port} typ host${rest}`,
    key: `${component} ${port}`,
  };
}

/** `sdp` with the twins on `announced` of its host candidate lines, each after its first original; their keys go in `seen`. */
export function announceInSdp(sdp: string, announced: string, seen: Set<string>): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    out.push(line);
    if (!line.startsWith('a=candidate:')) continue;
    const twin = announcedTwin(line, announced);
    if (!twin || seen.has(twin.key)) continue;
    seen.add(twin.key);
    out.push(twin.line);
  }
  return out.join(eol);
}
