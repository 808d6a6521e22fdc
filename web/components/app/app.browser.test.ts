import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { $, $$, deepActive, press, settle, until } from '../testing/dom.ts';
import { FixtureApp, keyOf } from '../testing/fixtures.ts';
import { populatedApp } from '../testing/scenario.ts';
import './app.component.ts';
import type { TcApp } from './app.component.ts';

async function shell(app = populatedApp().app) {
  const el = await fixture<TcApp>(html`<tc-app .app=${app}></tc-app>`);
  await settle(el);
  return el;
}

const inner = <T extends HTMLElement>(el: TcApp, tag: string) => $<T>(el, tag);

describe('<tc-app>', () => {
  before(() => setViewport({ width: 1280, height: 800 }));
  afterEach(() => history.replaceState(null, '', location.pathname + location.search));

  it('says to open an invite link when there are no servers, and goes to join with one', async () => {
    const el = await shell(new FixtureApp());
    const welcome = inner(el, 'tc-welcome');
    welcome.dispatchEvent(
      new CustomEvent('tc-server-add', {
        detail: { link: 'https://x.example/#invite=abc' },
        bubbles: true,
        composed: true,
      }),
    );
    await el.updateComplete;
    expect(inner(el, 'tc-join').getAttribute('link')).to.equal('https://x.example/#invite=abc');
  });

  it('routes an #invite= fragment to <tc-join>, then opens the joined server and forgets the fragment', async () => {
    const { app } = populatedApp();
    location.hash = '#invite=abc.def';
    const el = await shell(app);
    const join = inner(el, 'tc-join');
    expect(join.getAttribute('link')).to.equal(location.href);
    await app.join(location.href, 'me');
    join.dispatchEvent(
      new CustomEvent('tc-joined', { detail: { id: 'joined' }, bubbles: true, composed: true }),
    );
    await settle(el);
    expect(location.hash).to.equal('');
    expect($$(el, 'tc-join')).to.have.length(0);
    expect(inner(el, 'tc-server-rail').getAttribute('selected')).to.equal('joined');
  });

  it('shows rail, channels, conversation and members, and passes axe', async () => {
    const { app, blue } = populatedApp();
    const el = await shell(app);
    expect($(el, 'h1').textContent).to.equal('#general');
    expect($(el, '.topic').textContent).to.equal('Anything goes');
    expect(blue.calls[0]).to.deep.equal(['open', 'general']);
    const list = $(el, 'tc-conversation').shadowRoot!.querySelector('tc-message-list')!;
    await settle(list as never);
    expect(list.shadowRoot!.querySelectorAll('article')).to.have.length(3);
    expect($$(el, 'main, nav, aside').length).to.equal(2);
    await expect(el).shadowDom.to.be.accessible();
  });

  it('opens channels and servers, closing the conversation it leaves', async () => {
    const { app, blue, red } = populatedApp();
    const el = await shell(app);
    const channels = inner(el, 'tc-channel-list');
    channels.dispatchEvent(
      new CustomEvent('tc-channel-select', {
        detail: { id: 'random', kind: 'text' },
        bubbles: true,
        composed: true,
      }),
    );
    await settle(el);
    expect($(el, 'h1').textContent).to.equal('#random');
    expect(blue.conversation('general').count('close')).to.equal(1);
    inner(el, 'tc-server-rail').dispatchEvent(
      new CustomEvent('tc-server-select', { detail: { id: 'red' }, bubbles: true, composed: true }),
    );
    await settle(el);
    expect(red.calls).to.deep.include(['open', 'general']);
    inner(el, 'tc-server-rail').dispatchEvent(
      new CustomEvent('tc-server-select', { detail: { id: 'blue' }, bubbles: true, composed: true }),
    );
    await settle(el);
    expect($(el, 'h1').textContent).to.equal('#random');
  });

  it('applies theme, accent (with readable text on it), font size and message colour', async () => {
    const { app } = populatedApp();
    const el = await shell(app);
    app.updateSettings({ theme: 'dark', accent: '#ffd43b', fontScale: 1.3, messageColor: '#aabbcc' });
    await el.updateComplete;
    const style = getComputedStyle(el);
    expect(el.getAttribute('theme')).to.equal('dark');
    expect(style.getPropertyValue('--tc-accent').trim()).to.equal('#ffd43b');
    expect(style.getPropertyValue('--tc-on-accent').trim()).to.equal('#000000');
    expect(style.getPropertyValue('--tc-font-scale').trim()).to.equal('1.3');
    expect(style.getPropertyValue('--tc-message-color').trim()).to.equal('#aabbcc');
    expect(style.getPropertyValue('--tc-bg').trim()).to.equal('#1e1f22');
    app.updateSettings({ accent: 'red; background: url(x)', fontScale: 40, messageColor: undefined });
    await el.updateComplete;
    expect(getComputedStyle(el).getPropertyValue('--tc-accent').trim()).to.equal('#3b5bdb');
    expect(getComputedStyle(el).getPropertyValue('--tc-font-scale').trim()).to.equal('1.5');
    expect(el.style.getPropertyValue('--tc-message-color')).to.equal('');
    await expect(el).shadowDom.to.be.accessible();
    app.updateSettings({ theme: 'light' });
    await el.updateComplete;
    await expect(el).shadowDom.to.be.accessible();
  });

  it('shows the connection banner and retries now', async () => {
    const { app, blue } = populatedApp();
    const el = await shell(app);
    blue.connection.set({
      status: 'reconnecting',
      nextAt: Date.now() + 9000,
      attempt: 2,
      lastError: 'closed with 1006',
    });
    await settle(el);
    const banner = inner(el, 'tc-connection-status');
    expect(banner.shadowRoot!.textContent).to.contain('Reconnecting');
    banner.shadowRoot!.querySelector('button')!.click();
    expect(blue.count('retryNow')).to.equal(1);
    const composer = $(el, 'tc-conversation').shadowRoot!.querySelector('tc-composer')!;
    await settle(composer as never);
    expect(composer.shadowRoot!.querySelector('.note')!.textContent).to.contain('queued');
  });

  it('opens a member panel and a direct message from it', async () => {
    const { app, blue } = populatedApp();
    const el = await shell(app);
    inner(el, 'tc-member-list').dispatchEvent(
      new CustomEvent('tc-member-open', { detail: { key: keyOf('Alice') }, bubbles: true, composed: true }),
    );
    await settle(el);
    const panel = inner(el, 'tc-member-panel');
    expect(panel.shadowRoot!.querySelector('dialog')!.open).to.equal(true);
    panel.dispatchEvent(
      new CustomEvent('tc-dm-open', { detail: { key: keyOf('Alice') }, bubbles: true, composed: true }),
    );
    await settle(el);
    expect($(el, 'h1').textContent).to.equal('Alice');
    expect(blue.calls.at(-1)).to.deep.equal(['open', `dm:${keyOf('Alice')}`]);
    // Back to the channel that was open before the DM (no other state changes with it).
    inner(el, 'tc-channel-list').dispatchEvent(
      new CustomEvent('tc-channel-select', {
        detail: { id: 'general', kind: 'text' },
        bubbles: true,
        composed: true,
      }),
    );
    await settle(el);
    expect($(el, 'h1').textContent, 'picking #general again from a DM should open it').to.equal('#general');
  });

  it('opens invites and settings as dialogs; settings passes axe', async () => {
    const el = await shell();
    inner(el, 'tc-channel-list').dispatchEvent(
      new CustomEvent('tc-invite-open', { bubbles: true, composed: true }),
    );
    await settle(el);
    expect(inner(el, 'tc-invite-dialog').shadowRoot!.querySelector('dialog')!.open).to.equal(true);
    inner(el, 'tc-invite-dialog').shadowRoot!.querySelector('dialog')!.close();
    await settle(el);
    inner(el, 'tc-server-rail').dispatchEvent(
      new CustomEvent('tc-settings-open', { bubbles: true, composed: true }),
    );
    await settle(el);
    const dialog = $<HTMLDialogElement>(el, 'dialog.settings');
    expect(dialog.open).to.equal(true);
    await expect(el).shadowDom.to.be.accessible();
    dialog.querySelector<HTMLButtonElement>('.actions button')!.click();
    await until(() => $$(el, 'dialog.settings').length === 0, 'settings to close');
  });

  it('hides and shows the member list', async () => {
    const el = await shell();
    const toggle = $(el, 'button[aria-controls=members]');
    expect(toggle.getAttribute('aria-expanded')).to.equal('true');
    toggle.click();
    await el.updateComplete;
    expect($(el, 'aside').hidden).to.equal(true);
    expect(toggle.getAttribute('aria-expanded')).to.equal('false');
  });

  it('moves focus between regions with F6 and Shift+F6', async () => {
    const el = await shell();
    inner(el, 'tc-server-rail').focus();
    const region = () => {
      for (const tag of [
        'tc-server-rail',
        'tc-channel-list',
        'tc-message-list',
        'tc-composer',
        'tc-member-list',
      ])
        if (el.shadowRoot!.querySelector(tag)?.matches(':focus-within')) return tag;
      const nested = $(el, 'tc-conversation').shadowRoot!;
      for (const tag of ['tc-message-list', 'tc-composer'])
        if (nested.querySelector(tag)?.matches(':focus-within')) return tag;
      return deepActive()?.localName;
    };
    expect(region()).to.equal('tc-server-rail');
    const seen = [];
    for (let i = 0; i < 5; i++) {
      press(deepActive()!, 'F6');
      seen.push(region());
    }
    expect(seen).to.deep.equal([
      'tc-channel-list',
      'tc-message-list',
      'tc-composer',
      'tc-member-list',
      'tc-server-rail',
    ]);
    press(deepActive()!, 'F6', { shiftKey: true });
    expect(region()).to.equal('tc-member-list');
  });

  it('leaves and reorders servers through the app', async () => {
    const { app } = populatedApp();
    const el = await shell(app);
    const rail = inner(el, 'tc-server-rail');
    rail.dispatchEvent(
      new CustomEvent('tc-server-reorder', {
        detail: { ids: ['red', 'blue'] },
        bubbles: true,
        composed: true,
      }),
    );
    rail.dispatchEvent(
      new CustomEvent('tc-server-leave', { detail: { id: 'blue' }, bubbles: true, composed: true }),
    );
    await settle(el);
    expect(app.calls).to.deep.equal([
      ['reorder', ['red', 'blue']],
      ['leave', 'blue'],
    ]);
    expect($(el, 'h1').textContent).to.equal('#general');
    expect(inner(el, 'tc-server-rail').getAttribute('selected')).to.equal('red');
  });
});
