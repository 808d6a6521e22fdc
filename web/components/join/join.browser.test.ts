import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { generateIdentity } from '../../../crypto/identity.ts';
import { createInvite } from '../../../crypto/invite.ts';
import { rawSigner } from '../../../crypto/sign.ts';
import { $, $$, until } from '../testing/dom.ts';
import { codeError, FixtureApp, FixtureServer } from '../testing/fixtures.ts';
import './join.component.ts';
import type { TcJoin } from './join.component.ts';

async function inviteLink(expiresAt = Math.floor(Date.now() / 1000) + 3600): Promise<string> {
  const server = generateIdentity();
  const { fragment } = await createInvite(rawSigner(server.secretKey), {
    serverPublicKey: server.publicKey,
    role: 'member',
    expiresAt,
    maxUses: 1,
    withBundleSecret: true,
  });
  return `https://chat.example.org/#invite=${fragment}`;
}

async function join(link: string, app = new FixtureApp()) {
  const el = await fixture<TcJoin>(html`<tc-join .app=${app} link=${link}></tc-join>`);
  return { el, app };
}

describe('<tc-join>', () => {
  it('reads the invite, joins with the chosen name, then shows the server fingerprint', async () => {
    const link = await inviteLink();
    const app = new FixtureApp();
    app.settings.set({ ...app.settings.value, displayName: 'Bob' });
    const { el } = await join(link, app);
    expect($(el, 'h1').textContent).to.equal('Join a server on chat.example.org');
    expect($(el, 'dl').textContent).to.contain('member');
    const name = $<HTMLInputElement>(el, '#name');
    expect(name.value).to.equal('Bob');
    await expect(el).shadowDom.to.be.accessible();
    name.value = 'Robert';
    $(el, 'button[type=submit]').click();
    await until(() => $$(el, '.digits').length, 'the fingerprint');
    expect(app.calls).to.deep.equal([['join', link, 'Robert']]);
    expect($(el, 'h1').textContent).to.equal('You joined Joined server');
    expect($(el, '.digits').textContent!.replace(/\s+/g, ' ').trim()).to.equal(
      '01234 56789 01234 56789 01234 56789',
    );
    await expect(el).shadowDom.to.be.accessible();
    setTimeout(() => $(el, 'button.primary').click());
    expect((await oneEvent(el, 'tc-joined')).detail.id).to.equal('joined');
  });

  it('says plainly that an invite expired or was used (AUTH_FAILED)', async () => {
    const app = new FixtureApp();
    app.joinResult = async () => {
      throw codeError('AUTH_FAILED', 'closed with 4401');
    };
    const { el } = await join(await inviteLink(), app);
    $<HTMLInputElement>(el, '#name').value = 'Bob';
    $(el, 'button[type=submit]').click();
    await until(() => $$(el, '.error').length, 'the error');
    expect($(el, '.error').textContent).to.contain('expired, has been used up, or was revoked');
    expect($<HTMLButtonElement>(el, 'button[type=submit]').disabled).to.equal(false);
  });

  it('warns about expired and damaged links before trying', async () => {
    const expired = await join(await inviteLink(Math.floor(Date.now() / 1000) - 60));
    expect($$(expired.el, '.warning').map((w) => w.textContent)).to.deep.equal([
      'This invite seems to have expired. Ask for a new one.',
    ]);
    const link = await inviteLink();
    const damaged = await join(link.slice(0, -10));
    expect($(damaged.el, '.warning').textContent).to.contain('damaged');
  });

  it('goes back when there is somewhere to go', async () => {
    const el = await fixture<TcJoin>(html`<tc-join .app=${new FixtureApp([new FixtureServer('a', 'A')])}
      link="https://x.example/#invite=abc" cancellable></tc-join>`);
    setTimeout(() =>
      $$(el, 'button')
        .find((b) => b.textContent === 'Back')!
        .click(),
    );
    await oneEvent(el, 'tc-join-cancel');
  });
});
