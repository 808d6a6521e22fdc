import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { $ } from '../testing/dom.ts';
import './welcome.component.ts';
import type { TcWelcome } from './welcome.component.ts';

describe('<tc-welcome>', () => {
  it('explains invite links and accepts one', async () => {
    const el = await fixture<TcWelcome>(html`<tc-welcome></tc-welcome>`);
    expect($(el, 'main').textContent).to.contain('open the invite link');
    await expect(el).shadowDom.to.be.accessible();
    const input = $<HTMLInputElement>(el, 'input');
    input.value = 'https://chat.example.org/';
    $(el, 'button[type=submit]').click();
    await el.updateComplete;
    expect($(el, '[role=alert]').textContent).to.contain('#invite=');
    input.value = 'https://chat.example.org/#invite=xyz';
    setTimeout(() => $(el, 'button[type=submit]').click());
    expect((await oneEvent(el, 'tc-server-add')).detail.link).to.equal(
      'https://chat.example.org/#invite=xyz',
    );
  });

  it('points to restoring a backup', async () => {
    const el = await fixture<TcWelcome>(html`<tc-welcome></tc-welcome>`);
    setTimeout(() => $(el, 'button.link-button').click());
    await oneEvent(el, 'tc-settings-open');
  });
});
