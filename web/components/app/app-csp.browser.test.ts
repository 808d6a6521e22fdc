/**
 * The views under the CSP the server sends (`script-src 'self'; style-src 'self'`):
 * no inline style attributes, no inline scripts. A positive control proves the
 * policy is enforced in this page before the app renders.
 */
import { expect, fixture, html } from '@open-wc/testing';
import { settle } from '../testing/dom.ts';
import { FixtureApp } from '../testing/fixtures.ts';
import { populatedApp } from '../testing/scenario.ts';
import './app.component.ts';
import type { TcApp } from './app.component.ts';

describe('<tc-app> under the server’s CSP', () => {
  const violations: string[] = [];
  const record = (e: SecurityPolicyViolationEvent) => violations.push(`${e.violatedDirective} ${e.sample}`);

  before(async () => {
    const meta = document.createElement('meta');
    meta.httpEquiv = 'Content-Security-Policy';
    meta.content = "script-src 'self'; style-src 'self'";
    document.head.append(meta);
    document.addEventListener('securitypolicyviolation', record);
    const probe = document.createElement('div');
    document.body.append(probe);
    probe.setAttribute('style', 'color: red');
    await new Promise((r) => setTimeout(r, 50));
    probe.remove();
  });
  after(() => document.removeEventListener('securitypolicyviolation', record));

  it('enforces the policy here (control: an inline style attribute is reported)', () => {
    expect(violations.length).to.equal(1);
    expect(violations[0]).to.match(/^style-src/);
    violations.length = 0;
  });

  it('renders welcome, join, the shell and settings without a violation', async () => {
    await fixture<TcApp>(html`<tc-app .app=${new FixtureApp()}></tc-app>`);
    const { app } = populatedApp();
    app.updateSettings({ accent: '#ff0000', messageColor: '#123456', theme: 'dark' });
    const el = await fixture<TcApp>(html`<tc-app .app=${app}></tc-app>`);
    await settle(el);
    el.shadowRoot!.querySelector('tc-server-rail')!.dispatchEvent(
      new CustomEvent('tc-settings-open', { bubbles: true, composed: true }),
    );
    el.shadowRoot!.querySelector('tc-server-rail')!.dispatchEvent(
      new CustomEvent('tc-server-add', {
        detail: { link: 'https://x.example/#invite=a' },
        bubbles: true,
        composed: true,
      }),
    );
    await settle(el);
    await new Promise((r) => setTimeout(r, 100));
    expect(violations).to.deep.equal([]);
    expect(getComputedStyle(el).getPropertyValue('--tc-accent').trim()).to.equal('#ff0000');
  });
});
