import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $, $$, deepActive, press } from '../testing/dom.ts';
import { FixtureServer, member } from '../testing/fixtures.ts';
import './member-list.component.ts';
import type { TcMemberList } from './member-list.component.ts';

function server() {
  return new FixtureServer('s', 'Blue', {
    members: [
      member('me'),
      member('Zoe', { roles: ['member', 'admin'], tags: ['team'] }),
      member('Bob', { online: false, keyChanged: true }),
      member('Carol', { serverMuted: true, tags: ['team', 'friends'] }),
      member('Dan', { online: false, roles: [] }),
    ],
  });
}

describe('<tc-member-list>', () => {
  it('groups online and offline members, sorted, with roles, tags and warnings', async () => {
    const el = await fixture<TcMemberList>(html`<tc-member-list .server=${server()}></tc-member-list>`);
    expect($$(el, 'h2').map((h) => h.textContent)).to.deep.equal(['Online — 3', 'Offline — 2']);
    const labels = $$(el, 'button.member .visually-hidden').map((s) => s.textContent);
    expect(labels).to.deep.equal([
      'Carol, member, tags: team, friends, muted',
      'me, member',
      'Zoe, admin, tags: team',
      'Bob, member, warning: key changed',
      'Dan',
    ]);
    await expect(el).shadowDom.to.be.accessible();
  });

  it('filters by a local tag', async () => {
    const el = await fixture<TcMemberList>(html`<tc-member-list .server=${server()}></tc-member-list>`);
    const select = $<HTMLSelectElement>(el, 'select');
    select.value = 'friends';
    select.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect($$(el, 'button.member').map((b) => b.dataset.key!.slice(0, 5))).to.deep.equal(['Carol']);
  });

  it('moves with arrows and opens a member', async () => {
    const el = await fixture<TcMemberList>(html`<tc-member-list .server=${server()}></tc-member-list>`);
    const buttons = $$(el, 'button.member');
    expect(buttons.filter((b) => b.tabIndex === 0)).to.have.length(1);
    buttons[0]!.focus();
    press(buttons[0]!, 'ArrowDown');
    press(deepActive()!, 'ArrowDown');
    press(deepActive()!, 'ArrowDown');
    expect(deepActive()).to.equal(buttons[3]);
    setTimeout(() => (deepActive() as HTMLElement).click());
    const { detail } = await oneEvent(el, 'tc-member-open');
    expect(detail.key).to.equal(buttons[3]!.dataset.key);
  });
});
