/** The shell on a 360 px wide phone screen: sidebars become drawers. */
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { $, deepActive, press, settle } from '../testing/dom.ts';
import { populatedApp } from '../testing/scenario.ts';
import './app.component.ts';
import type { TcApp } from './app.component.ts';

async function shell() {
  const el = await fixture<TcApp>(html`<tc-app .app=${populatedApp().app}></tc-app>`);
  await settle(el);
  return el;
}

const shown = (el: Element) => el.checkVisibility({ visibilityProperty: true });

describe('<tc-app> at 360 px', () => {
  before(() => setViewport({ width: 360, height: 740 }));
  after(() => setViewport({ width: 1280, height: 800 }));

  it('hides both sidebars in inert drawers and fits the width', async () => {
    const el = await shell();
    expect(window.innerWidth).to.equal(360);
    const nav = $(el, '.nav');
    const members = $(el, 'aside');
    expect(nav.inert && members.inert).to.equal(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(shown(nav) || shown(members)).to.equal(false);
    expect(shown($(el, 'main'))).to.equal(true);
    expect(document.documentElement.scrollWidth).to.be.at.most(360);
    expect($(el, 'main').getBoundingClientRect().width).to.be.at.most(360);
    await expect(el).shadowDom.to.be.accessible();
  });

  it('opens the channel drawer, moves focus into it, closes on Escape and on picking a channel', async () => {
    const el = await shell();
    const toggle = $(el, 'button[aria-controls=nav]');
    toggle.click();
    await settle(el);
    await new Promise((r) => setTimeout(r, 300));
    const nav = $(el, '.nav');
    expect(nav.inert).to.equal(false);
    expect(shown(nav)).to.equal(true);
    expect(toggle.getAttribute('aria-expanded')).to.equal('true');
    expect(nav.querySelector('tc-channel-list')!.matches(':focus-within')).to.equal(true);
    expect($(el, 'button.scrim')).to.not.equal(null);
    await expect(el).shadowDom.to.be.accessible();
    press(deepActive()!, 'Escape');
    await settle(el);
    expect(nav.inert).to.equal(true);
    expect(deepActive()).to.equal(toggle);
    toggle.click();
    await settle(el);
    const channels = nav.querySelector('tc-channel-list')!;
    channels.dispatchEvent(
      new CustomEvent('tc-channel-select', {
        detail: { id: 'random', kind: 'text' },
        bubbles: true,
        composed: true,
      }),
    );
    await settle(el);
    expect(nav.inert).to.equal(true);
    expect($(el, 'h1').textContent).to.equal('#random');
  });

  it('opens the member drawer and closes it from the scrim', async () => {
    const el = await shell();
    $(el, 'button[aria-controls=members]').click();
    await settle(el);
    const members = $(el, 'aside');
    expect(members.inert).to.equal(false);
    expect(members.querySelector('tc-member-list')!.matches(':focus-within')).to.equal(true);
    $(el, 'button.scrim').click();
    await settle(el);
    expect(members.inert).to.equal(true);
  });
});
