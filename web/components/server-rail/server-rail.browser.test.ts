import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $, $$, answer, deepActive, press } from '../testing/dom.ts';
import { FixtureServer } from '../testing/fixtures.ts';
import './server-rail.component.ts';
import type { TcServerRail } from './server-rail.component.ts';

function servers() {
  const a = new FixtureServer('a', 'Alpha Team');
  const b = new FixtureServer('b', 'bravo');
  const c = new FixtureServer('c', 'Charlie');
  b.unread.set({ general: 2, random: 1 });
  c.connection.set({ status: 'reconnecting', nextAt: Date.now() + 5000, attempt: 1, lastError: '' });
  return [a, b, c];
}

async function rail(list = servers(), selected = 'a') {
  return fixture<TcServerRail>(html`<tc-server-rail .servers=${list} selected=${selected}></tc-server-rail>`);
}

const buttons = (el: TcServerRail) => $$(el, 'button.server');

describe('<tc-server-rail>', () => {
  it('shows initials, unread badges and trouble in labels', async () => {
    const el = await rail();
    const visible = (b: HTMLElement) =>
      [...b.querySelectorAll('[aria-hidden=true]')].map((s) => s.textContent);
    expect(buttons(el).map(visible)).to.deep.equal([['AT'], ['BR', '3'], ['CH']]);
    expect(buttons(el).map((b) => b.querySelector('.visually-hidden')!.textContent)).to.deep.equal([
      'Alpha Team',
      'bravo, 3 unread',
      'Charlie, reconnecting',
    ]);
    expect(buttons(el)[0]!.getAttribute('aria-current')).to.equal('page');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('updates when a server’s unread counts change', async () => {
    const list = servers();
    const el = await rail(list);
    list[0]!.unread.set({ general: 120 });
    await el.updateComplete;
    expect(buttons(el)[0]!.querySelector('.badge')!.textContent).to.equal('99+');
  });

  it('is one Tab stop; arrows, Home and End move between servers; click selects', async () => {
    const el = await rail();
    expect(buttons(el).map((b) => b.tabIndex)).to.deep.equal([0, -1, -1]);
    buttons(el)[0]!.focus();
    press(buttons(el)[0]!, 'ArrowDown');
    expect(deepActive()).to.equal(buttons(el)[1]);
    press(buttons(el)[1]!, 'End');
    expect(deepActive()).to.equal(buttons(el)[2]);
    press(buttons(el)[2]!, 'Home');
    expect(deepActive()).to.equal(buttons(el)[0]);
    expect(buttons(el).map((b) => b.tabIndex)).to.deep.equal([0, -1, -1]);
    setTimeout(() => buttons(el)[1]!.click());
    const { detail } = await oneEvent(el, 'tc-server-select');
    expect(detail.id).to.equal('b');
  });

  it('reorders with Alt+Up/Down and keeps focus on the moved server', async () => {
    const list = servers();
    const el = await rail(list);
    el.addEventListener('tc-server-reorder', (e) => {
      const byId = new Map(list.map((s) => [s.id, s]));
      el.servers = e.detail.ids.map((id) => byId.get(id)!);
    });
    buttons(el)[0]!.focus();
    setTimeout(() => press(buttons(el)[0]!, 'ArrowDown', { altKey: true }));
    const { detail } = await oneEvent(el, 'tc-server-reorder');
    expect(detail.ids).to.deep.equal(['b', 'a', 'c']);
    await el.updateComplete;
    await new Promise((r) => setTimeout(r));
    expect((deepActive() as HTMLElement).dataset.id).to.equal('a');
    // At the edge nothing happens.
    let fired = false;
    el.addEventListener('tc-server-reorder', () => (fired = true));
    press(buttons(el)[0]!, 'ArrowUp', { altKey: true });
    expect(fired).to.equal(false);
  });

  it('reorders by drag and drop', async () => {
    const el = await rail();
    const items = $$(el, 'li');
    const data = new DataTransfer();
    items[2]!.dispatchEvent(new DragEvent('dragstart', { dataTransfer: data, bubbles: true }));
    items[0]!.dispatchEvent(
      new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }),
    );
    setTimeout(() =>
      items[0]!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })),
    );
    const { detail } = await oneEvent(el, 'tc-server-reorder');
    expect(detail.ids).to.deep.equal(['c', 'a', 'b']);
  });

  it('leaves only after confirming, from the context menu (Shift+F10)', async () => {
    const el = await rail();
    const left: string[] = [];
    el.addEventListener('tc-server-leave', (e) => left.push(e.detail.id));
    buttons(el)[1]!.focus();
    press(buttons(el)[1]!, 'F10', { shiftKey: true });
    await el.updateComplete;
    await new Promise((r) => setTimeout(r));
    const menu = $(el, '[role=menu]');
    expect(menu.getAttribute('aria-label')).to.equal('Options for bravo');
    expect(deepActive()?.textContent?.trim()).to.equal('Move up');
    const leave = [...menu.querySelectorAll<HTMLElement>('[role=menuitem]')].find((b) =>
      b.textContent!.includes('Leave'),
    )!;
    leave.click();
    await answer(el, false);
    expect(left).to.deep.equal([]);
    buttons(el)[1]!.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true }));
    await el.updateComplete;
    [...$$(el, '[role=menuitem]')].find((b) => b.textContent!.includes('Leave'))!.click();
    await el.updateComplete;
    expect($(el, 'dialog.tc-confirm h2').textContent).to.equal('Leave bravo?');
    await expect(el).shadowDom.to.be.accessible();
    await answer(el, true);
    expect(left).to.deep.equal(['b']);
  });

  it('closes the menu with Escape and returns focus', async () => {
    const el = await rail();
    buttons(el)[0]!.focus();
    press(buttons(el)[0]!, 'ContextMenu');
    await el.updateComplete;
    await new Promise((r) => setTimeout(r));
    press(deepActive()!, 'Escape');
    await el.updateComplete;
    expect($$(el, '[role=menu]')).to.have.length(0);
    expect(deepActive()).to.equal(buttons(el)[0]);
  });

  it('adds a server from a pasted invite link, refusing other text', async () => {
    const el = await rail();
    $(el, 'button.add').click();
    await el.updateComplete;
    const input = $<HTMLInputElement>(el, 'form.add input');
    input.value = 'https://chat.example/hello';
    $(el, 'form.add button[type=submit]').click();
    await el.updateComplete;
    expect($(el, '[role=alert]').textContent).to.contain('#invite=');
    input.value = 'https://chat.example/#invite=abc.def';
    setTimeout(() => $(el, 'form.add button[type=submit]').click());
    const { detail } = await oneEvent(el, 'tc-server-add');
    expect(detail.link).to.equal('https://chat.example/#invite=abc.def');
  });

  it('opens settings', async () => {
    const el = await rail();
    setTimeout(() => $(el, 'button[aria-label=Settings]').click());
    await oneEvent(el, 'tc-settings-open');
  });
});
