import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { ChatMessage } from '../../core/model.ts';
import { MAX_WINDOW } from '../../ui/message-window.ts';
import { $, $$, answer, deepActive, press, settle, until } from '../testing/dom.ts';
import { FixtureConversation, FixtureServer, keyOf, member, message } from '../testing/fixtures.ts';
import './message-list.component.ts';
import type { TcMessageList } from './message-list.component.ts';

const T0 = Date.UTC(2026, 10, 21, 9, 0);
const ME = keyOf('me');

function server() {
  return new FixtureServer('s', 'Blue', { members: [member('me'), member('Alice'), member('Bob')] });
}

async function list(
  messages: ChatMessage[],
  conversation = new FixtureConversation('general', messages, ME),
) {
  const s = server();
  const wrapper =
    await fixture<HTMLDivElement>(html`<div style="height: 400px; display: flex; flex-direction: column">
    <tc-message-list .conversation=${conversation} .server=${s} label="Messages in #general"></tc-message-list>
  </div>`);
  const el = wrapper.querySelector('tc-message-list')!;
  await settle(el);
  return { el, conversation, server: s };
}

function history(n: number): ChatMessage[] {
  return Array.from({ length: n }, (_, i) =>
    message(i % 2 ? 'Alice' : 'Bob', `message ${i}`, { id: `h${i}`, at: T0 + i * 600_000 }),
  );
}

const ids = (el: TcMessageList) => $$(el, 'article').map((a) => a.dataset.id);
const scroller = (el: TcMessageList) => $(el, '.scroller');

describe('<tc-message-list>', () => {
  it('groups by author and time and shows edits, deletions, replies and pending messages', async () => {
    const first = message('Alice', 'hello **there**', { id: 'a1', at: T0 });
    const { el } = await list([
      first,
      message('Alice', 'second', { id: 'a2', at: T0 + 60_000, editedAt: T0 + 90_000 }),
      message('Bob', '', { id: 'b1', at: T0 + 70_000, deleted: true }),
      message('Bob', 'answer', { id: 'b2', at: T0 + 80_000, replyTo: 'a1' }),
      message('me', 'on its way', { id: 'm1', at: T0 + 90_000, author: ME, pending: true }),
    ]);
    const articles = $$(el, 'article');
    expect(articles.map((a) => a.classList.contains('continued'))).to.deep.equal([
      false,
      true,
      false,
      false,
      false,
    ]);
    expect(articles[0]!.querySelector('.author')!.textContent).to.equal('Alice');
    expect(articles[0]!.querySelector('strong')!.textContent).to.equal('there');
    expect(articles[1]!.querySelector('.visually-hidden')!.textContent).to.contain('Alice');
    expect(articles[1]!.querySelector('.edited')!.textContent).to.contain('(edited)');
    expect(articles[2]!.querySelector('.deleted')!.textContent).to.equal('This message was deleted.');
    expect(articles[2]!.querySelector('.actions')).to.equal(null);
    expect(articles[3]!.querySelector('.quote')!.textContent)
      .to.contain('Alice')
      .and.to.contain('hello there');
    expect(articles[4]!.querySelector('.queued')!.textContent).to.contain('Queued');
    const log = $(el, '[role=log]');
    expect(log.getAttribute('aria-live')).to.equal('polite');
    expect(log.getAttribute('aria-label')).to.equal('Messages in #general');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('highlights messages and mentions that name me', async () => {
    const { el } = await list([message('Alice', 'hey @me look', { mentions: [ME] })]);
    expect($(el, 'article').classList.contains('mentioned')).to.equal(true);
    expect($(el, 'span.mention.me').textContent).to.equal('@me');
  });

  it('toggles reactions and adds one from the picker', async () => {
    const m = message('Alice', 'vote', {
      id: 'v',
      reactions: { '👍': [ME, keyOf('Bob')], '🎉': [keyOf('Bob')] },
    });
    const { el, conversation } = await list([m]);
    const chips = $$(el, 'button.reaction');
    expect(chips.map((c) => c.getAttribute('aria-pressed'))).to.deep.equal(['true', 'false']);
    expect(chips[0]!.getAttribute('aria-label')).to.equal('👍 2 reactions, including you');
    chips[0]!.click();
    $(el, 'button[aria-label="Add reaction"]').click();
    await el.updateComplete;
    $(el, 'button[aria-label="React with 😂"]').click();
    await el.updateComplete;
    expect(conversation.calls.filter((c) => c[0] === 'react')).to.deep.equal([
      ['react', 'v', '👍'],
      ['react', 'v', '😂'],
    ]);
    expect($$(el, '.picker')).to.have.length(0);
  });

  it('edits and deletes (confirmed) my own messages only', async () => {
    const { el, conversation } = await list([
      message('Alice', 'theirs', { id: 't' }),
      message('me', 'mine', { id: 'mine', author: ME }),
    ]);
    expect($$(el, 'article[data-id=t] button[aria-label=Edit]')).to.have.length(0);
    $(el, 'article[data-id=mine] button[aria-label=Edit]').click();
    await el.updateComplete;
    const box = $<HTMLTextAreaElement>(el, 'article[data-id=mine] textarea');
    box.value = 'mine, fixed';
    press(box, 'Enter');
    await el.updateComplete;
    expect(conversation.calls).to.deep.include(['edit', 'mine', 'mine, fixed']);
    $(el, 'article[data-id=mine] button[aria-label=Delete]').click();
    await answer(el, true);
    await until(() => conversation.count('remove') === 1, 'remove');
  });

  it('asks to reply and to open the author', async () => {
    const { el } = await list([message('Alice', 'hi', { id: 'x' })]);
    setTimeout(() => $(el, 'button[aria-label=Reply]').click());
    expect((await oneEvent(el, 'tc-reply')).detail.message.id).to.equal('x');
    setTimeout(() => $(el, 'button.author').click());
    expect((await oneEvent(el, 'tc-member-open')).detail.key).to.equal(keyOf('Alice'));
  });

  it('renders only a window of a 10,000-message history, at the bottom, and marks it read', async () => {
    const { el, conversation } = await list(history(10_000));
    const shown = ids(el);
    expect(shown.length).to.be.at.most(MAX_WINDOW);
    expect(shown.at(-1)).to.equal('h9999');
    const s = scroller(el);
    expect(s.scrollHeight - s.scrollTop - s.clientHeight).to.be.below(2);
    expect(conversation.count('markRead')).to.equal(1);
  });

  it('shows earlier messages when scrolled to the top, keeping the reading position and the DOM bounded', async () => {
    const { el } = await list(history(10_000));
    for (let round = 0; round < 8; round++) {
      const s = scroller(el);
      const firstId = ids(el)[0]!;
      s.scrollTop = 0;
      const offsetOf = () =>
        $(el, `article[data-id="${firstId}"]`).getBoundingClientRect().top - s.getBoundingClientRect().top;
      const before = offsetOf();
      s.dispatchEvent(new Event('scroll'));
      await until(() => ids(el)[0] !== firstId, `round ${round}: earlier messages`);
      await settle(el);
      const moved = offsetOf() - before;
      expect(Math.abs(moved), `round ${round}: the old first message moved by ${moved}px`).to.be.below(2);
      expect(ids(el).length).to.be.at.most(MAX_WINDOW);
    }
    expect(ids(el).at(-1)).not.to.equal('h9999');
    // Far from the newest: a button brings them back.
    $(el, 'button.newest').click();
    await settle(el);
    expect(ids(el).at(-1)).to.equal('h9999');
  });

  it('asks the core for older history at the start, and shows it', async () => {
    const conversation = new FixtureConversation('general', history(20).slice(10), ME);
    conversation.older = history(10);
    conversation.hasOlder.set(true);
    const { el } = await list([], conversation);
    expect($(el, 'button.older').textContent).to.contain('Load older messages');
    scroller(el).scrollTop = 0;
    scroller(el).dispatchEvent(new Event('scroll'));
    await until(() => conversation.count('loadOlder') === 1, 'loadOlder');
    await until(() => ids(el)[0] === 'h0', 'older messages shown');
    expect($(el, '.start').textContent).to.contain('start of the conversation');
  });

  it('follows new messages at the bottom, and not when scrolled up', async () => {
    const { el, conversation } = await list(history(100));
    conversation.messages.set([...conversation.messages.value, message('Alice', 'new one', { id: 'n1' })]);
    await settle(el);
    const s = scroller(el);
    expect(s.scrollHeight - s.scrollTop - s.clientHeight).to.be.below(2);
    expect(conversation.count('markRead')).to.equal(2);
    s.scrollTop = s.scrollHeight / 2;
    s.dispatchEvent(new Event('scroll'));
    await until(() => !el.window.follow, 'stop following');
    const top = s.scrollTop;
    conversation.messages.set([...conversation.messages.value, message('Alice', 'another', { id: 'n2' })]);
    await settle(el);
    expect(Math.abs(s.scrollTop - top)).to.be.below(2);
  });

  it('moves between messages with the arrow keys, reaching earlier ones past the window', async () => {
    const { el } = await list(history(300));
    el.focus();
    expect((deepActive() as HTMLElement).dataset.id).to.equal('h299');
    press(deepActive()!, 'ArrowUp');
    expect((deepActive() as HTMLElement).dataset.id).to.equal('h298');
    press(deepActive()!, 'Home');
    const first = (deepActive() as HTMLElement).dataset.id!;
    press(deepActive()!, 'ArrowUp');
    const previous = `h${Number(first.slice(1)) - 1}`;
    await until(
      () => (deepActive() as HTMLElement | null)?.dataset.id === previous,
      'focus on the previous message',
    );
    // Only the focused message's controls are in the Tab order.
    await el.updateComplete;
    const tabbable = $$(el, 'article button').filter((b) => b.tabIndex === 0);
    expect(tabbable.every((b) => b.closest('article')!.dataset.id === previous)).to.equal(true);
  });

  it('says who is typing, without me', async () => {
    const { el, conversation } = await list([]);
    conversation.typing.set([keyOf('Alice'), ME]);
    await el.updateComplete;
    expect($(el, '.typing').textContent).to.equal('Alice is typing…');
    conversation.typing.set([keyOf('Alice'), keyOf('Bob')]);
    await el.updateComplete;
    expect($(el, '.typing').textContent).to.equal('Alice and Bob are typing…');
  });
});
