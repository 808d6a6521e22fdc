import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $, $$, until } from '../testing/dom.ts';
import { channel, codeError, FixtureServer, member } from '../testing/fixtures.ts';
import './invite-dialog.component.ts';
import type { TcInviteDialog } from './invite-dialog.component.ts';

function server() {
  return new FixtureServer('s', 'Blue', {
    permissions: ['invite'],
    channels: [channel('general'), channel('lobby', { kind: 'voice' })],
    members: [member('me', { roles: ['moderator'] }), member('Alice', { roles: ['guest'] })],
  });
}

async function dialog(s = server()) {
  const el = await fixture<TcInviteDialog>(html`<tc-invite-dialog .server=${s} open></tc-invite-dialog>`);
  await el.updateComplete;
  return el;
}

function choose(el: TcInviteDialog, name: string, value: string): void {
  $<HTMLSelectElement>(el, `select[name=${name}]`).value = value;
}

describe('<tc-invite-dialog>', () => {
  let written: string[] = [];
  const original = Object.getOwnPropertyDescriptor(Navigator.prototype, 'clipboard');
  beforeEach(() => {
    written = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void written.push(text) },
    });
  });
  afterEach(() => {
    delete (navigator as { clipboard?: unknown }).clipboard;
    if (original) Object.defineProperty(Navigator.prototype, 'clipboard', original);
  });

  it('creates an invite with the chosen role, expiry, uses and channel', async () => {
    const s = server();
    const el = await dialog(s);
    expect($<HTMLDialogElement>(el, 'dialog').open).to.equal(true);
    expect($$(el, 'select[name=role] option').map((o) => o.textContent)).to.deep.equal([
      'member',
      'guest',
      'moderator',
    ]);
    await expect(el).shadowDom.to.be.accessible();
    choose(el, 'role', 'guest');
    choose(el, 'expiry', '3600');
    choose(el, 'uses', '5');
    choose(el, 'channel', 'general');
    $(el, 'button[type=submit]').click();
    await until(() => $$(el, '.link input').length, 'the link');
    expect(s.calls).to.deep.equal([
      ['createInvite', { role: 'guest', expiresIn: 3600, maxUses: 5, channel: 'general' }],
    ]);
    expect($<HTMLInputElement>(el, '.link input').value).to.equal('https://s.example/#invite=TOKEN.SECRET');
    $(el, '.link button').click();
    await until(() => written.length, 'the clipboard');
    expect(written).to.deep.equal(['https://s.example/#invite=TOKEN.SECRET']);
    await el.updateComplete;
    expect($(el, '[role=status]').textContent).to.equal('Link copied.');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('defaults to the whole server, one member, one use, one day', async () => {
    const s = server();
    const el = await dialog(s);
    $(el, 'button[type=submit]').click();
    await until(() => s.calls.length, 'createInvite');
    expect(s.calls[0]).to.deep.equal(['createInvite', { role: 'member', expiresIn: 86400, maxUses: 1 }]);
  });

  it('says plainly when the server refuses', async () => {
    const s = server();
    s.createInvite = async () => {
      throw codeError('NOT_ALLOWED');
    };
    const el = await dialog(s);
    $(el, 'button[type=submit]').click();
    await until(() => $$(el, '[role=alert]').length, 'the error');
    expect($(el, '[role=alert]').textContent).to.equal('Your role does not allow that.');
  });

  it('reports closing', async () => {
    const el = await dialog();
    setTimeout(() =>
      $$(el, 'button')
        .find((b) => b.textContent === 'Cancel')!
        .click(),
    );
    await oneEvent(el, 'tc-invite-close');
    expect(el.open).to.equal(false);
  });
});
