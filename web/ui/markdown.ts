/**
 * Safe chat markdown, rendered: bold, italic, strike, inline code, code blocks,
 * links, quotes, lists, mentions and line breaks (parsed by markdown-parse.ts).
 * Mentions follow the core's rule (core/mentions.ts): `@name` or `@<user id>` of a
 * member the message mentions. The tree becomes Lit templates, so every character
 * of user text reaches the DOM as a text node or a checked attribute value — never
 * as HTML. Links are kept only for http(s) and mailto URLs (checked with `URL`, so
 * `JaVaScRiPt:` and leading control characters are normalised first) and open in a
 * new tab with `rel="noopener noreferrer nofollow"`; anything else stays text.
 */
import { html, type TemplateResult } from 'lit';
import { type Block, type Inline, type Mentionable, parseMarkdown } from './markdown-parse.ts';

export {
  type Block,
  type Inline,
  MAX_INPUT,
  MAX_NODES,
  type Mentionable,
  parseMarkdown,
  parseWithWork,
  safeHref,
} from './markdown-parse.ts';
export interface RenderOptions {
  /** The members the message mentions (ids and names), to link `@name` and `@<id>`. */
  people?: readonly Mentionable[];
  /** The reader's user id: mentions of it get the `me` class. */
  me?: string | undefined;
}

function renderInline(nodes: Inline[], o: RenderOptions): unknown[] {
  return nodes.map((n) => {
    switch (n.t) {
      case 'text':
        return n.v;
      case 'br':
        return html`<br />`;
      case 'code':
        return html`<code>${n.v}</code>`;
      case 'strong':
        return html`<strong>${renderInline(n.c, o)}</strong>`;
      case 'em':
        return html`<em>${renderInline(n.c, o)}</em>`;
      case 'del':
        return html`<del>${renderInline(n.c, o)}</del>`;
      case 'link':
        return html`<a href=${n.href} target="_blank" rel="noopener noreferrer nofollow"
          >${renderInline(n.c, o)}</a
        >`;
      case 'mention': {
        const name = o.people?.find((p) => p.key === n.key)?.name ?? `${n.key.slice(0, 8)}…`;
        return html`<span class=${n.key === o.me ? 'mention me' : 'mention'} data-key=${n.key}>@${name}</span>`;
      }
      default:
        return n satisfies never;
    }
  });
}

function renderBlocks(blocks: Block[], o: RenderOptions): unknown[] {
  return blocks.map((b) => {
    switch (b.t) {
      case 'p':
        return html`<p>${renderInline(b.c, o)}</p>`;
      case 'pre':
        return html`<pre><code data-lang=${b.lang}>${b.v}</code></pre>`;
      case 'quote':
        return html`<blockquote>${renderBlocks(b.c, o)}</blockquote>`;
      case 'ul':
        return html`<ul>${b.items.map((item) => html`<li>${renderInline(item, o)}</li>`)}</ul>`;
      case 'ol':
        return html`<ol start=${b.start}>${b.items.map((item) => html`<li>${renderInline(item, o)}</li>`)}</ol>`;
      default:
        return b satisfies never;
    }
  });
}

/** Renders chat markdown as a Lit template. User text only ever becomes text nodes and checked hrefs. */
export function renderMarkdown(text: string, options: RenderOptions = {}): TemplateResult {
  return html`${renderBlocks(parseMarkdown(text, options.people), options)}`;
}

/** Plain text of a message for one-line previews (reply quotes, notifications): markup removed. */
export function plainText(text: string, max = 120): string {
  const flat = (nodes: Inline[]): string =>
    nodes
      .map((n) =>
        n.t === 'text' || n.t === 'code' ? n.v : n.t === 'br' ? ' ' : n.t === 'mention' ? '@' : flat(n.c),
      )
      .join('');
  const short = text.length > max * 4 ? text.slice(0, max * 4) : text;
  const parts = parseMarkdown(short).map((b) =>
    b.t === 'p' ? flat(b.c) : b.t === 'pre' ? b.v : b.t === 'quote' ? '' : b.items.map(flat).join(' '),
  );
  const joined = parts.filter(Boolean).join(' ').replace(/\s+/g, ' ').trim();
  return joined.length > max ? `${joined.slice(0, max - 1)}…` : joined;
}
