/**
 * Small signed notes over pub/sub (typing, key requests). The server forwards
 * `publish` frames verbatim and says nothing about who sent them, so each note names
 * its sender and time and is signed by the sender's identity; a receiver drops notes
 * that do not verify, are older than `MAX_AGE_MS` or come from non-members.
 *
 *   note = { t, from (user id), at (unix ms), …fields, sig }
 *   sig  = ECDSA over statement('tincan/note/v1', [t, room, from, at, JSON of fields])
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { publicKeyOf } from '../../crypto/identity.ts';
import { type Signer, signStatement, verifyStatement } from '../../crypto/sign.ts';

export const MAX_AGE_MS = 30_000;
const CONTEXT = 'tincan/note/v1';

export interface Note {
  t: string;
  from: string;
  at: number;
  fields: Record<string, string | number | string[]>;
}

export async function signNote(
  signer: Signer,
  room: string,
  t: string,
  fields: Note['fields'],
  now = Date.now(),
): Promise<Record<string, unknown>> {
  const from = toBase64url(signer.publicKey);
  const sig = await signStatement(signer, CONTEXT, [t, room, from, now, JSON.stringify(fields)]);
  return { t, from, at: now, fields, sig: toBase64url(sig) };
}

/** The note in `data` if it is well-formed, fresh and signed by its sender; otherwise undefined. */
export function verifyNote(data: unknown, room: string, now = Date.now()): Note | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const { t, from, at, fields, sig } = d;
  if (typeof t !== 'string' || typeof from !== 'string' || typeof at !== 'number' || typeof sig !== 'string')
    return undefined;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  if (Math.abs(now - at) > MAX_AGE_MS) return undefined;
  try {
    const key = publicKeyOf(from);
    const signature = fromBase64url(sig);
    if (signature.length !== 64) return undefined;
    if (!verifyStatement(key, signature, CONTEXT, [t, room, from, at, JSON.stringify(fields)]))
      return undefined;
  } catch {
    return undefined; // not a key, not base64url: not a note
  }
  return { t, from, at, fields: fields as Note['fields'] };
}
