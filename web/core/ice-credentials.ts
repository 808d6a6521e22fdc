/**
 * The ICE servers a server hands its members (`turn.credentials`: its STUN/TURN URLs
 * with a TURN REST username and password that expire), fetched when first needed,
 * kept until shortly before they expire, and shared by every mesh of the server
 * (conversations and voice). No public STUN server is ever added.
 */

/** Fresh credentials are fetched this long before the old ones expire. */
const REFRESH_MARGIN_S = 120;

export interface IceCredentials {
  iceServers: RTCIceServer[];
  /** Unix seconds. */
  expiresAt: number;
}

/** Reads a `turn.credentials` reply; entries that are not ICE servers are left out. */
export function parseIceCredentials(reply: Record<string, unknown>): IceCredentials {
  const list = Array.isArray(reply.iceServers) ? reply.iceServers : [];
  const isUrls = (u: unknown) =>
    typeof u === 'string' || (Array.isArray(u) && u.length > 0 && u.every((x) => typeof x === 'string'));
  const iceServers = list.filter(
    (s): s is RTCIceServer =>
      typeof s === 'object' &&
      s !== null &&
      isUrls((s as RTCIceServer).urls) &&
      ['undefined', 'string'].includes(typeof (s as RTCIceServer).username) &&
      ['undefined', 'string'].includes(typeof (s as RTCIceServer).credential),
  );
  const expiresAt = typeof reply.expiresAt === 'number' ? reply.expiresAt : 0;
  return { iceServers, expiresAt };
}

export class IceServers {
  private held: Promise<IceCredentials> | undefined;

  constructor(
    private readonly fetch: () => Promise<IceCredentials>,
    private readonly log?: (message: string) => void,
  ) {}

  /** Current ICE servers; without credentials (offline, none configured) [] — host candidates only. */
  async get(): Promise<RTCIceServer[]> {
    const now = Date.now() / 1000;
    const held = this.held && (await this.held.catch(() => undefined));
    if (held && held.expiresAt - REFRESH_MARGIN_S > now) return held.iceServers;
    this.held = this.fetch();
    try {
      return (await this.held).iceServers;
    } catch (error) {
      this.held = undefined;
      this.log?.(`turn.credentials: ${(error as Error).message}; host candidates only`);
      return [];
    }
  }
}
