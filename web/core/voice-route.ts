/**
 * Which way a voice channel's audio goes, decided the same way by every member
 * from what presence shows, so that a channel is on one route:
 * - the relay when the channel holds more people than its mesh limit, or anyone in
 *   it needs the relay (hides their IP, or could not reach a peer directly);
 * - the mesh otherwise, and also when the relay has been down a while (a hidden
 *   member's mesh links are TURN-only, so their IP stays hidden);
 * - 'full' when the channel is past its mesh limit and the server has no relay.
 */
export type Route = 'mesh' | 'relay';

/** How long a peer in the channel may stay unreached directly before the call asks for the relay. */
export const UNREACHABLE_MS = 8_000;

export interface RouteFacts {
  readonly relayAvailable: boolean;
  /** The relay has been unreachable for a while. */
  readonly relayDown: boolean;
  /** People in the channel, me included. */
  readonly people: number;
  readonly meshLimit: number;
  /** I, or someone in the channel, need the relay. */
  readonly needed: boolean;
}

export function chooseRoute(f: RouteFacts): Route | 'full' {
  const big = f.people > f.meshLimit;
  if (!f.relayAvailable) return big ? 'full' : 'mesh';
  if (big) return 'relay';
  if (f.needed && !f.relayDown) return 'relay';
  return 'mesh';
}
