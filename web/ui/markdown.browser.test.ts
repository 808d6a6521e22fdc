/**
 * The chat markdown renderer in Chromium: every construct, and hostile input —
 * HTML and event-handler payloads, script-ish URLs in every spelling, nested
 * brackets, entities, attribute breaking — must come out as text, and adversarial
 * input of 200k characters must render in bounded time.
 */
import { expect } from '@open-wc/testing';
import { render } from 'lit';
import { MAX_INPUT, parseMarkdown, parseWithWork, plainText, renderMarkdown, safeHref } from './markdown.ts';

const ALICE = `alice${'A'.repeat(39)}`;
const BOB = `bob${'B'.repeat(41)}`;
const people = [
  { key: ALICE, name: 'Alice' },
  { key: BOB, name: 'Bob Smith' },
];

function md(text: string, me?: string): HTMLElement {
  const box = document.createElement('div');
  render(renderMarkdown(text, { people, me }), box);
  return box;
}

/** Every element in the output, by tag name. */
function tags(box: HTMLElement): string[] {
  return [...box.querySelectorAll('*')].map((e) => e.localName);
}

function hrefs(box: HTMLElement): string[] {
  return [...box.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? '');
}

const ALLOWED_TAGS = new Set([
  'p',
  'br',
  'strong',
  'em',
  'del',
  'code',
  'pre',
  'a',
  'span',
  'blockquote',
  'ul',
  'ol',
  'li',
]);

function assertSafe(box: HTMLElement): void {
  for (const el of box.querySelectorAll('*')) {
    expect(ALLOWED_TAGS.has(el.localName), `unexpected <${el.localName}>`).to.equal(true);
    for (const attr of el.getAttributeNames())
      expect(
        ['href', 'target', 'rel', 'class', 'data-key', 'data-lang', 'start'],
        `attribute ${attr}`,
      ).to.include(attr);
  }
  for (const href of hrefs(box)) expect(new URL(href).protocol).to.be.oneOf(['http:', 'https:', 'mailto:']);
}

describe('markdown: constructs', () => {
  it('renders bold, italic, strike and inline code', () => {
    const box = md('**bold** *it* _also_ ~~gone~~ `x<y`');
    expect(box.querySelector('strong')!.textContent).to.equal('bold');
    expect([...box.querySelectorAll('em')].map((e) => e.textContent)).to.deep.equal(['it', 'also']);
    expect(box.querySelector('del')!.textContent).to.equal('gone');
    expect(box.querySelector('code')!.textContent).to.equal('x<y');
  });

  it('nests emphasis inside bold and links', () => {
    const box = md('**a *b* c** [**x**](https://example.org)');
    expect(box.querySelector('strong em')!.textContent).to.equal('b');
    expect(box.querySelector('a strong')!.textContent).to.equal('x');
  });

  it('renders fenced code blocks verbatim, unclosed ones to the end', () => {
    const box = md('before\n```js\n<b>**not bold**</b>\n```\nafter\n```\nopen');
    const blocks = box.querySelectorAll('pre code');
    expect(blocks[0]!.textContent).to.equal('<b>**not bold**</b>');
    expect(blocks[0]!.getAttribute('data-lang')).to.equal('js');
    expect(blocks[1]!.textContent).to.equal('open');
    expect(box.querySelector('b')).to.equal(null);
    expect(box.querySelector('strong')).to.equal(null);
  });

  it('renders quotes (nested up to a bound), lists and ordered lists', () => {
    const box = md('> quoted **x**\n> > inner\n\n- one\n- two\n\n3. three\n4. four');
    expect(box.querySelector('blockquote strong')!.textContent).to.equal('x');
    expect(box.querySelector('blockquote blockquote')!.textContent).to.contain('inner');
    expect([...box.querySelectorAll('ul li')].map((l) => l.textContent)).to.deep.equal(['one', 'two']);
    expect(box.querySelector('ol')!.getAttribute('start')).to.equal('3');
    expect(box.querySelectorAll('ol li')).to.have.length(2);
    const deep = md('> > > > > deep');
    expect(deep.querySelectorAll('blockquote').length).to.be.at.most(3);
  });

  it('keeps single line breaks and splits paragraphs on blank lines', () => {
    const box = md('one\ntwo\n\nthree');
    expect(box.querySelectorAll('p')).to.have.length(2);
    expect(box.querySelector('p br')).to.not.equal(null);
  });

  it('links http(s) and mailto, opened in a new tab without referrer or opener', () => {
    const box = md(
      '[site](https://example.org/a?b=1) <https://x.test> see http://example.com/path. mailto:me@example.org',
    );
    const links = [...box.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).to.deep.equal([
      'https://example.org/a?b=1',
      'https://x.test/',
      'http://example.com/path',
      'mailto:me@example.org',
    ]);
    for (const a of links) {
      expect(a.target).to.equal('_blank');
      expect(a.rel).to.equal('noopener noreferrer nofollow');
    }
    expect(links[0]!.textContent).to.equal('site');
  });

  it('highlights mentions of members by name or id, and marks mine', () => {
    const box = md(`hi @alice and @Bob Smith, also @${BOB}! mail x@Alice`, ALICE);
    const mentions = [...box.querySelectorAll('span.mention')];
    expect(mentions.map((m) => m.textContent)).to.deep.equal(['@Alice', '@Bob Smith', '@Bob Smith']);
    expect(mentions.map((m) => m.classList.contains('me'))).to.deep.equal([true, false, false]);
    expect(md('@Alicex @nobody').querySelector('.mention')).to.equal(null);
  });

  it('honours backslash escapes and leaves intraword underscores alone', () => {
    const box = md('\\*not em\\* snake_case_name a_b_c');
    expect(box.querySelector('em')).to.equal(null);
    expect(box.textContent).to.equal('*not em* snake_case_name a_b_c');
  });

  it('plainText drops markup for one-line previews', () => {
    expect(plainText('**Hi** `there`\n> q\n- a')).to.equal('Hi there a');
    expect(plainText('x'.repeat(500), 20)).to.have.length(20);
  });
});

describe('markdown: hostile input stays text', () => {
  const payloads = [
    '<img src=x onerror="window.__xss=1">',
    '<script>window.__xss=1</script>',
    '<svg onload="window.__xss=1"></svg>',
    '<a href="javascript:window.__xss=1">x</a>',
    '<style>body{display:none}</style>',
    '"><img src=x onerror=window.__xss=1>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  ];
  for (const payload of payloads)
    it(`renders ${payload.slice(0, 40)} as text`, async () => {
      const box = md(payload);
      document.body.append(box);
      await new Promise((r) => setTimeout(r, 20));
      box.remove();
      expect(tags(box)).to.deep.equal(['p']);
      expect(box.textContent).to.equal(payload);
      expect((window as { __xss?: number }).__xss).to.equal(undefined);
    });

  const badLinks = [
    '[x](javascript:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x]( javascript:alert(1))',
    '[x](\tjavascript:alert(1))',
    '[x](java\nscript:alert(1))',
    '[x](data:text/html,<script>alert(1)</script>)',
    '[x](vbscript:msgbox(1))',
    '[x](file:///etc/passwd)',
    '[x](//evil.example/path)',
    '[x](/relative)',
    '[x](javascript&colon;alert(1))',
    '[x](&#106;avascript:alert(1))',
  ];
  for (const link of badLinks)
    it(`does not link ${JSON.stringify(link)}`, () => {
      const box = md(link);
      expect(box.querySelector('a')).to.equal(null);
      expect(box.textContent!.replace(/\s/g, '')).to.equal(link.replace(/\s/g, ''));
    });

  it('never links a script URL through nested or crossed brackets', () => {
    for (const text of [
      '[a [b]](javascript:alert(1))',
      '[[x](https://ok.example)](javascript:alert(1))',
      '[x](https://ok.example)](javascript:alert(1))',
      '[x]([y](javascript:alert(1)))',
      '[![img](x)](javascript:alert(1))',
      'javascript:alert(1) data:text/html,x',
    ]) {
      const box = md(text);
      assertSafe(box);
      expect(box.textContent).to.contain('javascript:alert(1)'.slice(0, 10));
    }
  });

  it('keeps URLs that try to break out of the attribute inside it', () => {
    const box = md('[x](https://example.org/"onmouseover="alert(1)) https://example.org/\'onfocus=\'x');
    assertSafe(box);
    for (const a of box.querySelectorAll('a')) expect(a.getAttribute('onmouseover')).to.equal(null);
  });

  it('does not decode HTML entities', () => {
    const text = '&lt;b&gt;bold&lt;/b&gt; &amp; &#60;script&#62; &quot;';
    const box = md(text);
    expect(box.textContent).to.equal(text);
    expect(tags(box)).to.deep.equal(['p']);
  });

  it('safeHref accepts only http, https and mailto', () => {
    expect(safeHref('https://a.example/')).to.equal('https://a.example/');
    expect(safeHref('mailto:a@b.example')).to.equal('mailto:a@b.example');
    for (const bad of ['javascript:1', ' JAVASCRIPT:1', 'data:,x', 'blob:https://a/1', 'ftp://a', 'x', ''])
      expect(safeHref(bad), bad).to.equal(undefined);
  });
});

describe('markdown: bounded work', () => {
  // The parser counts its work (characters visited, plus characters scanned by every
  // search); it must stay linear in the input. Wall time is checked too, loosely: this
  // 2-core machine is shared, and quadratic work on 50k characters takes far longer.
  const WORK_PER_CHAR = 12;
  const BOUND_MS = 3000;
  const SIZE = 200_000;
  const adversarial: [string, string][] = [
    ['stars', '*'.repeat(SIZE)],
    ['bold openers', '**a'.repeat(SIZE / 3)],
    ['underscores', '_a'.repeat(SIZE / 2)],
    ['brackets', '['.repeat(SIZE)],
    ['link openers', '[a]('.repeat(SIZE / 4)],
    ['bracket then far link', `${'['.repeat(SIZE - 30)}](javascript:alert(1))`],
    ['brackets sharing a long bad url', `${'['.repeat(40_000)}](http://[${'a'.repeat(2000)})`],
    ['backticks', '`a'.repeat(SIZE / 2)],
    ['urls without spaces', 'http://[x'.repeat(SIZE / 9)],
    ['url then dots', `http://a${'.'.repeat(SIZE)}`],
    ['at signs', '@'.repeat(SIZE)],
    ['mention-ish', '@Alic'.repeat(SIZE / 5)],
    ['backslashes', '\\'.repeat(SIZE)],
    [
      'quote lines',
      '> '
        .repeat(10)
        .concat('x\n')
        .repeat(SIZE / 22),
    ],
    ['list lines', '- *a\n'.repeat(SIZE / 5)],
    ['fences', '```\n'.repeat(SIZE / 4)],
    ['deep nesting', `${'**_~~'.repeat(2000)}x${'~~_**'.repeat(2000)}`],
    ['newlines', '\n'.repeat(SIZE)],
  ];
  for (const [name, text] of adversarial)
    it(`parses ${name} (${text.length} chars) in linear work and renders in bounded time`, () => {
      const { work } = parseWithWork(text, people);
      const n = Math.min(text.length, MAX_INPUT);
      expect(work, `${name}: ${work} units for ${n} characters`).to.be.below(WORK_PER_CHAR * n);
      const t0 = performance.now();
      const box = md(text);
      const ms = performance.now() - t0;
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).to.be.below(BOUND_MS);
      assertSafe(box);
    });

  it(`cuts input past ${MAX_INPUT} characters`, () => {
    const blocks = parseMarkdown('y'.repeat(MAX_INPUT + 10));
    const first = blocks[0];
    expect(first?.t).to.equal('p');
    const text = first?.t === 'p' && first.c[0]?.t === 'text' ? first.c[0].v : '';
    expect(text.length).to.equal(MAX_INPUT + 1);
    expect(text.endsWith('…')).to.equal(true);
  });
});
