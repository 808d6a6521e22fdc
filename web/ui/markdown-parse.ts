/**
 * The chat markdown parser: text → a small tree of blocks and inline nodes, never
 * HTML. Rendering is in markdown.ts. Linear in the input: every closing-delimiter
 * search is memoised per delimiter (`Finder`), autolinks are tried once per run of
 * non-spaces, nesting depth and node count are capped, and input past `MAX_INPUT`
 * characters is cut. `parseWithWork` reports the work done so tests can hold it to
 * a linear bound.
 */
export type Inline =
  | { t: 'text'; v: string }
  | { t: 'br' }
  | { t: 'code'; v: string }
  | { t: 'strong' | 'em' | 'del'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] }
  | { t: 'mention'; key: string };

export type Block =
  | { t: 'p'; c: Inline[] }
  | { t: 'pre'; lang: string; v: string }
  | { t: 'quote'; c: Block[] }
  | { t: 'ul'; items: Inline[][] }
  | { t: 'ol'; start: number; items: Inline[][] };

/** Longer input is cut (with an ellipsis) before parsing. */
export const MAX_INPUT = 50_000;
/** Past this many nodes in one message, the rest is plain text (bounds render work). */
export const MAX_NODES = 2000;
const MAX_INLINE_DEPTH = 6;
const MAX_QUOTE_DEPTH = 3;
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
const ESCAPABLE = /[\\`*_~[\]()<>#+\-.!|]/;
const WORD = /[\p{L}\p{N}]/u;
/** At most this many mentioned members are matched per message. */
const MAX_MENTIONABLE = 20;
/** URLs are capped in length so a long run without spaces is scanned a bounded number of times. */
const MAX_URL = 2048;
const AUTOLINK = /(?:https?:\/\/|mailto:)[^\s<>]{1,2048}/y;
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']']);
const FENCE = /^\s{0,3}```/;
const QUOTE = /^\s{0,3}>/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;

/** The URL as a safe href (http, https, mailto), or undefined. */
export function safeHref(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return SAFE_PROTOCOLS.has(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined; // relative or malformed: not a link
  }
}

/** Nodes left to make for one message, and the work done so far (characters visited or scanned). */
interface Budget {
  nodes: number;
  work: number;
}

/** `indexOf` with a memo per needle, so repeated failed searches cost O(1). */
class Finder {
  private readonly memo = new Map<string, { from: number; at: number }>();
  private readonly hrefs = new Map<number, string | undefined>();
  /** Autolinks are not tried before this index (the end of the last run tried). */
  noAutolinkBefore = 0;
  constructor(
    private readonly s: string,
    readonly people: readonly Mentionable[],
    readonly budget: Budget,
  ) {}
  find(needle: string, from: number): number {
    const m = this.memo.get(needle);
    if (m && m.from <= from && (m.at === -1 || m.at >= from)) return m.at;
    const at = this.s.indexOf(needle, from);
    this.budget.work += (at === -1 ? this.s.length : at) - from;
    this.memo.set(needle, { from, at });
    return at;
  }
  /** The safe href of `s[from, to)`, checked once per position (many `[` may share one `](…)`). */
  href(from: number, to: number): string | undefined {
    if (this.hrefs.has(from)) return this.hrefs.get(from);
    const url = to - from <= MAX_URL ? this.s.slice(from, to).trim() : '';
    this.budget.work += url.length;
    const href = url && !/\s/.test(url) ? safeHref(url) : undefined;
    this.hrefs.set(from, href);
    return href;
  }
}

const isWord = (ch: string | undefined) => ch !== undefined && (ch === '_' || WORD.test(ch));

/** Someone a message mentions: their user id and display name. */
export interface Mentionable {
  key: string;
  name: string;
}

/** The mentioned member whose id or name (longest first) starts at `at`, ending at a word boundary. */
function mentionAt(s: string, at: number, end: number, people: readonly Mentionable[]) {
  for (const p of people) {
    if (s.startsWith(p.key, at) && at + p.key.length <= end) return { key: p.key, length: p.key.length };
  }
  for (const p of people) {
    const n = p.name.length;
    if (
      n > 0 &&
      at + n <= end &&
      s.slice(at, at + n).toLowerCase() === p.name.toLowerCase() &&
      !isWord(s[at + n])
    )
      return { key: p.key, length: n };
  }
  return undefined;
}

function parseInline(s: string, finder: Finder, start: number, end: number, depth: number, inLink: boolean) {
  const out: Inline[] = [];
  let textStart = start;
  let i = start;
  const flush = (to: number) => {
    if (to > textStart) {
      const last = out[out.length - 1];
      if (last?.t === 'text') last.v += s.slice(textStart, to);
      else out.push({ t: 'text', v: s.slice(textStart, to) });
    }
  };
  const emit = (node: Inline, next: number) => {
    flush(i);
    out.push(node);
    finder.budget.nodes--;
    i = textStart = next;
  };
  const within = (j: number) => j !== -1 && j < end;
  const nested = depth < MAX_INLINE_DEPTH;
  while (i < end && finder.budget.nodes > 0) {
    finder.budget.work++;
    const c = s[i]!;
    if (c === '\\' && i + 1 < end && ESCAPABLE.test(s[i + 1]!)) {
      flush(i);
      textStart = i + 1;
      i += 2;
      continue;
    }
    if (c === '\n') {
      emit({ t: 'br' }, i + 1);
      continue;
    }
    if (c === '`') {
      const j = finder.find('`', i + 1);
      if (within(j) && j > i + 1) {
        emit({ t: 'code', v: s.slice(i + 1, j) }, j + 1);
        continue;
      }
    }
    const pair = s.slice(i, i + 2);
    if (nested && (pair === '**' || pair === '~~' || pair === '__')) {
      const j = finder.find(pair, i + 2);
      if (within(j) && j + 2 <= end && j > i + 2 && !/\s/.test(s[i + 2]!)) {
        const t = pair === '~~' ? 'del' : 'strong';
        emit({ t, c: parseInline(s, finder, i + 2, j, depth + 1, inLink) }, j + 2);
        continue;
      }
    }
    if (
      nested &&
      (c === '*' || c === '_') &&
      !/\s/.test(s[i + 1] ?? ' ') &&
      (c === '*' || !isWord(s[i - 1]))
    ) {
      const j = finder.find(c, i + 1);
      if (within(j) && j > i + 1 && !/\s/.test(s[j - 1]!) && (c === '*' || !isWord(s[j + 1]))) {
        emit({ t: 'em', c: parseInline(s, finder, i + 1, j, depth + 1, inLink) }, j + 1);
        continue;
      }
    }
    if (c === '[' && !inLink && nested) {
      const j = finder.find(']', i + 1);
      if (within(j) && s[j + 1] === '(') {
        const k = finder.find(')', j + 2);
        const href = within(k) ? finder.href(j + 2, k) : undefined;
        if (href && j > i + 1) {
          emit({ t: 'link', href, c: parseInline(s, finder, i + 1, j, depth + 1, true) }, k + 1);
          continue;
        }
      }
    }
    if (c === '@' && finder.people.length && !isWord(s[i - 1])) {
      finder.budget.work += finder.people.length;
      const hit = mentionAt(s, i + 1, end, finder.people);
      if (hit) {
        emit({ t: 'mention', key: hit.key }, i + 1 + hit.length);
        continue;
      }
    }
    if ((c === 'h' || c === 'm') && !inLink && i >= finder.noAutolinkBefore && !isWord(s[i - 1])) {
      AUTOLINK.lastIndex = i;
      const m = AUTOLINK.exec(s);
      if (m) {
        finder.budget.work += m[0].length;
        // Whatever happens, no second try inside this run of non-spaces: keeps the scans linear.
        finder.noAutolinkBefore = i + m[0].length;
        let n = Math.min(m[0].length, end - i);
        while (n > 0 && TRAILING.has(m[0][n - 1]!)) n--;
        const raw = m[0].slice(0, n);
        const href = safeHref(raw);
        if (href && raw.length > 8) {
          emit({ t: 'link', href, c: [{ t: 'text', v: raw }] }, i + raw.length);
          continue;
        }
      }
    }
    i++;
  }
  flush(end);
  return out;
}

function parseBlocks(
  lines: string[],
  depth: number,
  people: readonly Mentionable[],
  budget: Budget,
): Block[] {
  const inline = (text: string) =>
    parseInline(text, new Finder(text, people, budget), 0, text.length, 0, false);
  const quote = (line: string) => depth < MAX_QUOTE_DEPTH && QUOTE.test(line);
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    budget.work += line.length;
    if (budget.nodes <= 0) {
      blocks.push({ t: 'p', c: [{ t: 'text', v: lines.slice(i).join('\n') }] });
      break;
    }
    budget.nodes--;
    if (FENCE.test(line)) {
      const lang = line.trim().slice(3).trim().slice(0, 32);
      const body: string[] = [];
      for (i++; i < lines.length && !FENCE.test(lines[i]!); i++) body.push(lines[i]!);
      i++; // the closing fence (or past the end when unclosed)
      blocks.push({ t: 'pre', lang, v: body.join('\n') });
    } else if (quote(line)) {
      const body: string[] = [];
      for (; i < lines.length && QUOTE.test(lines[i]!); i++) body.push(lines[i]!.replace(/^\s{0,3}> ?/, ''));
      blocks.push({ t: 'quote', c: parseBlocks(body, depth + 1, people, budget) });
    } else if (BULLET.test(line)) {
      const items: Inline[][] = [];
      for (
        let m: RegExpExecArray | null;
        i < lines.length && budget.nodes > 0 && (m = BULLET.exec(lines[i]!));
        i++, budget.nodes--
      )
        items.push(inline(m[1]!));
      blocks.push({ t: 'ul', items });
    } else if (ORDERED.test(line)) {
      const start = Number(ORDERED.exec(line)![1]);
      const items: Inline[][] = [];
      for (
        let m: RegExpExecArray | null;
        i < lines.length && budget.nodes > 0 && (m = ORDERED.exec(lines[i]!));
        i++, budget.nodes--
      )
        items.push(inline(m[2]!));
      blocks.push({ t: 'ol', start, items });
    } else if (line.trim() === '') {
      i++;
    } else {
      const body = [line];
      for (i++; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.trim() === '' || FENCE.test(l) || quote(l) || BULLET.test(l) || ORDERED.test(l)) break;
        body.push(l);
      }
      blocks.push({ t: 'p', c: inline(body.join('\n')) });
    }
  }
  return blocks;
}

/**
 * Parses chat markdown into blocks. `people` are the members the message mentions
 * (longer names are tried first). Input past `MAX_INPUT` characters is cut with an ellipsis.
 */
export function parseMarkdown(text: string, people: readonly Mentionable[] = []): Block[] {
  return parseWithWork(text, people).blocks;
}

/** `parseMarkdown`, also returning the work done (characters visited or scanned), for tests of its bound. */
export function parseWithWork(
  text: string,
  people: readonly Mentionable[] = [],
): { blocks: Block[]; work: number } {
  const bounded = text.length > MAX_INPUT ? `${text.slice(0, MAX_INPUT)}…` : text;
  const sorted = people.slice(0, MAX_MENTIONABLE).sort((a, b) => b.name.length - a.name.length);
  const budget: Budget = { nodes: MAX_NODES, work: 0 };
  const blocks = parseBlocks(bounded.replace(/\r\n?/g, '\n').split('\n'), 0, sorted, budget);
  return { blocks, work: budget.work };
}
