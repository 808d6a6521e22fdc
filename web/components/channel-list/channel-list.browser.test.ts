import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $, $$, answer, deepActive, press, until } from '../testing/dom.ts';
import { ALL_PERMISSIONS, channel, FixtureServer, keyOf, member } from '../testing/fixtures.ts';
import './channel-list.component.ts';
import type { TcChannelList } from './channel-list.component.ts';

function server(permissions: string[] = []) {
  return new FixtureServer('s', 'Blue', {
    permissions,
    channels: [
      channel('random', { order: 1 }),
      channel('general', { order: 0, topic: 'hi' }),
      channel('voice', { kind: 'voice', order: 2 }),
      channel('team', { order: 3, locked: true }),
      channel('team-plans', { parent: 'team', order: 1 }),
      channel('team-chat', { parent: 'team', order: 0 }),
      channel('orphan', { parent: 'missing', order: 9 }),
    ],
    members: [
      member('me'),
      member('Alice', { voice: [{ channel: 'voice', muted: false, deafened: false, relay: false }] }),
    ],
  });
}

async function list(s = server(), selected = 'general') {
  return fixture<TcChannelList>(html`<tc-channel-list .server=${s} selected=${selected}></tc-channel-list>`);
}

const names = (el: TcChannelList) => $$(el, 'button.channel').map((b) => b.dataset.id);
const labelOf = (el: TcChannelList, id: string) =>
  $(el, `button.channel[data-id="${id}"] .visually-hidden`).textContent;

describe('<tc-channel-list>', () => {
  it('lists direct messages with names (former members too) and unread counts, and opens one', async () => {
    const s = server();
    s.dms.set([keyOf('Alice'), keyOf('Gone')]);
    s.formerNames.set({ [keyOf('Gone')]: 'Gone Person' });
    s.unread.set({ [s.dmWith(keyOf('Alice'))]: 3 });
    const el = await list(s, s.dmWith(keyOf('Alice')));
    const dms = $$(el, 'button.dm');
    expect(dms.map((b) => b.querySelector('.name')!.textContent)).to.deep.equal(['Alice', 'Gone Person']);
    expect(dms[0]!.getAttribute('aria-current'), 'the open DM is marked current').to.equal('page');
    expect(dms[0]!.querySelector('.badge')!.getAttribute('aria-label')).to.equal('3 unread');
    expect(dms[1]!.querySelector('.badge'), 'no badge without unread').to.equal(null);
    setTimeout(() => dms[1]!.click());
    const event = await oneEvent(el, 'tc-dm-open');
    expect(event.detail).to.deep.equal({ key: keyOf('Gone') });
    await expect(el).shadowDom.to.be.accessible();
  });

  it('renders the ordered, nested tree with kinds, locks and who is in voice', async () => {
    const el = await list();
    expect(names(el)).to.deep.equal([
      'general',
      'random',
      'voice',
      'team',
      'team-chat',
      'team-plans',
      'orphan',
    ]);
    expect($$(el, 'ul ul button.channel').map((b) => b.dataset.id)).to.deep.equal([
      'team-chat',
      'team-plans',
    ]);
    expect(labelOf(el, 'voice')).to.equal('voice, voice channel');
    expect(labelOf(el, 'team')).to.equal('team, text channel, locked');
    expect($(el, 'ul.voice-members').textContent).to.contain('Alice');
    expect($(el, 'button[aria-current=page]').dataset.id).to.equal('general');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('marks unread channels and follows changes', async () => {
    const s = server();
    const el = await list(s);
    s.unread.set({ random: 4 });
    await el.updateComplete;
    expect(labelOf(el, 'random')).to.equal('random, text channel, 4 unread');
    expect($(el, 'button[data-id=random]').classList.contains('unread')).to.equal(true);
    expect($(el, 'button[data-id=random] .badge').textContent).to.equal('4');
  });

  it('selects with click; arrows, Home and End move focus', async () => {
    const el = await list();
    const first = $(el, 'button[data-id=general]');
    first.focus();
    press(first, 'ArrowDown');
    expect((deepActive() as HTMLElement).dataset.id).to.equal('random');
    press(deepActive()!, 'End');
    expect((deepActive() as HTMLElement).dataset.id).to.equal('orphan');
    setTimeout(() => $(el, 'button[data-id=voice]').click());
    const { detail } = await oneEvent(el, 'tc-channel-select');
    expect(detail).to.deep.equal({ id: 'voice', kind: 'voice' });
  });

  it('hides every management action without manage_channels or invite', async () => {
    const s = server(['send']);
    const el = await list(s);
    expect($$(el, 'button.options')).to.have.length(0);
    expect($$(el, 'button[aria-label="Create channel"]')).to.have.length(0);
    expect($$(el, 'button[aria-label="Invite people"]')).to.have.length(0);
    press($(el, 'button[data-id=general]'), 'ArrowDown', { altKey: true });
    expect(s.calls).to.deep.equal([]);
  });

  it('offers an invite button with the invite permission', async () => {
    const el = await list(server(['invite']));
    setTimeout(() => $(el, 'button[aria-label="Invite people"]').click());
    await oneEvent(el, 'tc-invite-open');
  });

  it('creates a channel', async () => {
    const s = server(ALL_PERMISSIONS);
    const el = await list(s);
    $(el, 'button[aria-label="Create channel"]').click();
    await el.updateComplete;
    $<HTMLInputElement>(el, 'form.create input[name=name]').value = 'lobby';
    $<HTMLSelectElement>(el, 'form.create select[name=kind]').value = 'voice';
    $<HTMLSelectElement>(el, 'form.create select[name=parent]').value = 'team';
    $(el, 'form.create button[type=submit]').click();
    await el.updateComplete;
    expect(s.calls).to.deep.include(['createChannel', 'lobby', 'voice', 'team']);
    await until(() => $$(el, 'form.create').length === 0, 'the create form to close');
    expect(names(el)).to.include('lobby');
  });

  it('renames, moves and deletes (confirmed) from the options editor', async () => {
    const s = server(ALL_PERMISSIONS);
    const el = await list(s);
    const general = $(el, 'button[data-id=general]');
    general.focus();
    press(general, 'F10', { shiftKey: true });
    await el.updateComplete;
    await new Promise((r) => setTimeout(r));
    expect(deepActive()?.getAttribute('name')).to.equal('name');
    (deepActive() as HTMLInputElement).value = 'lobby';
    $(el, 'form.edit button[type=submit]').click();
    await el.updateComplete;
    expect(s.calls).to.deep.include(['updateChannel', 'general', { name: 'lobby' }]);
    await until(() => $$(el, 'form.edit').length === 0, 'the editor to close');
    $(el, 'button[aria-label="Options for random"]').click();
    await el.updateComplete;
    [...$$(el, 'form.edit button')].find((b) => b.textContent === 'Move up')!.click();
    await el.updateComplete;
    expect(s.calls).to.deep.include(['moveChannel', 'random', null, 0]);
    [...$$(el, 'form.edit button')].find((b) => b.textContent!.startsWith('Delete'))!.click();
    await answer(el, false);
    expect(s.count('deleteChannel')).to.equal(0);
    [...$$(el, 'form.edit button')].find((b) => b.textContent!.startsWith('Delete'))!.click();
    await el.updateComplete;
    expect($(el, 'dialog.tc-confirm h2').textContent).to.equal('Delete #random?');
    await answer(el, true);
    expect(s.calls).to.deep.include(['deleteChannel', 'random']);
  });

  it('reorders with Alt+Up/Down among siblings', async () => {
    const s = server(ALL_PERMISSIONS);
    const el = await list(s);
    press($(el, 'button[data-id=team-chat]'), 'ArrowDown', { altKey: true });
    press($(el, 'button[data-id=general]'), 'ArrowUp', { altKey: true });
    await el.updateComplete;
    expect(s.calls.filter((c) => c[0] === 'moveChannel')).to.deep.equal([
      ['moveChannel', 'team-chat', 'team', 1],
    ]);
  });

  it('shows a refused action’s error plainly', async () => {
    const s = server(ALL_PERMISSIONS);
    s.deleteChannel = async () => {
      throw Object.assign(new Error('no'), { code: 'NOT_ALLOWED' });
    };
    const el = await list(s);
    $(el, 'button[aria-label="Options for voice"]').click();
    await el.updateComplete;
    [...$$(el, 'form.edit button')].find((b) => b.textContent!.startsWith('Delete'))!.click();
    await answer(el, true);
    await until(() => $$(el, '[role=alert]').length, 'the error');
    expect($(el, '[role=alert]').textContent).to.equal('Your role does not allow that.');
  });
});
