/**
 * Mentions: `@name` in a message's text, resolved to the user ids of members whose
 * display name follows the `@` (longest name wins, case-insensitive, and the name
 * must end at a word boundary). `@<user id>` (the 44-character key) also works.
 */

export interface Named {
  key: string;
  name: string;
}

const USER_ID = /^[A-Za-z0-9_-]{44}/;

/** User ids mentioned in `text`, each once, in order of appearance. */
export function findMentions(text: string, members: readonly Named[]): string[] {
  const byLength = [...members].sort((a, b) => b.name.length - a.name.length);
  const found: string[] = [];
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    if (i > 0 && /[\p{L}\p{N}_]/u.test(text[i - 1]!)) continue; // an e-mail address, not a mention
    const rest = text.slice(i + 1);
    const id = USER_ID.exec(rest)?.[0];
    let key = id !== undefined && members.some((m) => m.key === id) ? id : undefined;
    if (key === undefined) {
      const lower = rest.toLowerCase();
      key = byLength.find(
        (m) =>
          m.name.length > 0 &&
          lower.startsWith(m.name.toLowerCase()) &&
          !/[\p{L}\p{N}_]/u.test(rest[m.name.length] ?? ' '),
      )?.key;
    }
    if (key !== undefined && !found.includes(key)) found.push(key);
  }
  return found;
}
