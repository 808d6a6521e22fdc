import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $, $$, answer } from '../testing/dom.ts';
import { ALL_PERMISSIONS, channel, FixtureServer, keyOf, member } from '../testing/fixtures.ts';
import './member-panel.component.ts';
import type { TcMemberPanel } from './member-panel.component.ts';

function server(permissions: string[] = []) {
  return new FixtureServer('s', 'Blue', {
    permissions,
    members: [member('me'), member('Alice', { keyChanged: true, tags: ['team'] })],
  });
}

async function panel(s = server(), key = keyOf('Alice')) {
  const el = await fixture<TcMemberPanel>(html`<tc-member-panel .server=${s} key=${key}></tc-member-panel>`);
  await el.updateComplete;
  return el;
}

const actions = (el: TcMemberPanel) =>
  $$(el, 'dialog.panel .actions button').map((b) => b.textContent!.trim());

describe('<tc-member-panel>', () => {
  it('opens as a modal with the 60-digit safety number and the key-change warning', async () => {
    const el = await panel();
    const dialog = $<HTMLDialogElement>(el, 'dialog.panel');
    expect(dialog.open).to.equal(true);
    const digits = $(el, '.digits').textContent!.replace(/\s+/g, ' ').trim();
    expect(digits).to.match(/^(\d{5} ){11}\d{5}$/);
    expect(digits.replace(/ /g, '')).to.equal(el.server!.safetyNumber(keyOf('Alice')).replace(/ /g, ''));
    expect($(el, '.warning[role=alert]').textContent).to.contain("Alice's key changed");
    await expect(el).shadowDom.to.be.accessible();
  });

  it('shows no moderation actions without permission', async () => {
    const el = await panel(server(['send']));
    expect(actions(el)).to.deep.equal(['Send message', 'Close']);
  });

  it('shows each permitted action, none for yourself', async () => {
    const el = await panel(server(ALL_PERMISSIONS));
    expect(actions(el)).to.deep.equal(['Send message', 'Rename…', 'Mute…', 'Kick…', 'Ban…', 'Close']);
    const self = await panel(server(ALL_PERMISSIONS), keyOf('me'));
    expect(actions(self)).to.deep.equal(['Close']);
    expect($$(self, '.digits')).to.have.length(0);
  });

  it('kicks and bans only after confirming', async () => {
    const s = server(ALL_PERMISSIONS);
    const el = await panel(s);
    const click = (label: string) =>
      $$(el, '.actions button')
        .find((b) => b.textContent!.trim() === label)!
        .click();
    click('Kick…');
    await answer(el, false);
    expect(s.count('kick')).to.equal(0);
    click('Kick…');
    await el.updateComplete;
    expect($(el, 'dialog.tc-confirm button[type=submit]').textContent).to.equal('Kick Alice');
    await answer(el, true);
    click('Ban…');
    await answer(el, true);
    click('Mute…');
    await answer(el, true);
    click('Rename…');
    await answer(el, true, 'Alicia');
    await new Promise((r) => setTimeout(r));
    expect(s.calls).to.deep.equal([
      ['kick', keyOf('Alice'), undefined],
      ['ban', keyOf('Alice'), undefined],
      ['mute', keyOf('Alice'), true],
      ['rename', keyOf('Alice'), 'Alicia'],
    ]);
  });

  it('moves a member in voice to another voice channel, when allowed', async () => {
    const channels = [
      channel('general'),
      channel('lounge', { kind: 'voice', name: 'Lounge', order: 1 }),
      channel('afk', { kind: 'voice', name: 'AFK', order: 2 }),
    ];
    const inVoice = member('Alice', {
      voice: [{ channel: 'lounge', muted: false, deafened: false, relay: false }],
    });
    const s = new FixtureServer('s', 'Blue', {
      permissions: ALL_PERMISSIONS,
      channels,
      members: [member('me'), inVoice],
    });
    const el = await panel(s);
    expect($(el, 'form.move label').textContent, 'says where they are').to.contain('In Lounge');
    const options = $$<HTMLOptionElement>(el, 'form.move option').map((o) => o.value);
    expect(options, 'every other voice channel, not text ones').to.deep.equal(['afk']);
    $<HTMLButtonElement>(el, 'form.move button[type=submit]').click();
    await new Promise((r) => setTimeout(r));
    expect(s.calls, 'no confirmation: moved at once').to.deep.equal([['moveMember', keyOf('Alice'), 'afk']]);
    await expect(el).shadowDom.to.be.accessible();

    const notInVoice = await panel(server(ALL_PERMISSIONS));
    expect($$(notInVoice, 'form.move'), 'no move for a member out of voice').to.have.length(0);
    const noRight = new FixtureServer('s', 'Blue', {
      permissions: ['send'],
      channels,
      members: [member('me'), inVoice],
    });
    expect($$(await panel(noRight), 'form.move'), 'no move without the permission').to.have.length(0);
  });

  it('saves local tags and opens a direct message', async () => {
    const s = server();
    const el = await panel(s);
    $<HTMLInputElement>(el, '#tags').value = 'team, friends, team ,';
    $(el, 'form.tags button').click();
    expect(s.calls).to.deep.equal([['setTags', keyOf('Alice'), ['team', 'friends']]]);
    setTimeout(() => $(el, '.actions button.primary').click());
    const { detail } = await oneEvent(el, 'tc-dm-open');
    expect(detail.key).to.equal(keyOf('Alice'));
  });

  it('reports closing', async () => {
    const el = await panel();
    setTimeout(() =>
      $$(el, '.actions button')
        .find((b) => b.textContent === 'Close')!
        .click(),
    );
    await oneEvent(el, 'tc-member-close');
  });
});
