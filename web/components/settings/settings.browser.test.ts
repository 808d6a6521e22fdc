import { expect, fixture, html } from '@open-wc/testing';
import { $, $$, until } from '../testing/dom.ts';
import { codeError, FixtureApp } from '../testing/fixtures.ts';
import './settings.component.ts';
import type { TcSettings } from './settings.component.ts';

async function settings(app = new FixtureApp()) {
  const el = await fixture<TcSettings>(html`<tc-settings .app=${app}></tc-settings>`);
  return { el, app };
}

function change(input: HTMLInputElement | HTMLSelectElement, value: string | boolean): void {
  if (typeof value === 'boolean') (input as HTMLInputElement).checked = value;
  else input.value = value;
  input.dispatchEvent(new Event('change'));
}

function fill(form: HTMLFormElement, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values))
    form.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[name=${name}]`)!.value = value;
}

describe('<tc-settings>', () => {
  it('is accessible', async () => {
    const { el } = await settings();
    await expect(el).shadowDom.to.be.accessible();
  });

  it('applies each setting at once', async () => {
    const { el, app } = await settings();
    change($<HTMLInputElement>(el, 'label.field input'), '  Bobby ');
    change($<HTMLInputElement>(el, 'input[value=dark]'), true);
    change($<HTMLInputElement>(el, 'input[type=color]'), '#ff8800');
    change($<HTMLSelectElement>(el, 'select'), '1.3');
    const checks = $$<HTMLInputElement>(el, 'input[type=checkbox]');
    change(checks[0]!, true);
    await el.updateComplete;
    change($$<HTMLInputElement>(el, 'input[type=color]')[1]!, '#224466');
    change($$<HTMLInputElement>(el, 'input[type=checkbox]')[1]!, false);
    change($$<HTMLInputElement>(el, 'input[type=checkbox]')[2]!, true);
    expect(app.calls).to.deep.equal([
      ['updateSettings', { displayName: 'Bobby' }],
      ['updateSettings', { theme: 'dark' }],
      ['updateSettings', { accent: '#ff8800' }],
      ['updateSettings', { fontScale: 1.3 }],
      ['updateSettings', { messageColor: '#1f2328' }],
      ['updateSettings', { messageColor: '#224466' }],
      ['updateSettings', { notificationSounds: false }],
      ['updateSettings', { identityPerServer: true }],
    ]);
    expect(app.settings.value.theme).to.equal('dark');
  });

  it('exports a backup only when both passphrases match, with a download', async () => {
    const { el, app } = await settings();
    const form = $<HTMLFormElement>(el, 'form[aria-label="Export backup"]');
    fill(form, { pass: 'correct horse battery', again: 'correct horse batterY' });
    form.querySelector('button')!.click();
    await el.updateComplete;
    expect($(el, '[role=alert]').textContent).to.equal('The two passphrases differ.');
    expect(app.calls).to.deep.equal([]);
    fill(form, { pass: 'correct horse battery', again: 'correct horse battery' });
    form.querySelector('button')!.click();
    await until(() => $$(el, 'a.download').length, 'the backup');
    expect(app.calls).to.deep.equal([['exportBackup', 'correct horse battery']]);
    expect($$<HTMLTextAreaElement>(el, 'textarea[readonly]')[0]!.value).to.equal('tincan-backup-v1:AAAA');
    const link = $<HTMLAnchorElement>(el, 'a.download');
    expect(link.href.startsWith('blob:')).to.equal(true);
    expect(await (await fetch(link.href)).text()).to.equal('tincan-backup-v1:AAAA\n');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('restores a backup, and explains a wrong one', async () => {
    const { el, app } = await settings();
    const form = $<HTMLFormElement>(el, 'form[aria-label="Restore backup"]');
    fill(form, { backup: 'hello', pass: 'pw' });
    form.querySelector('button')!.click();
    await until(() => $(el, 'form[aria-label="Restore backup"] [role=status]').textContent, 'the result');
    expect($(el, 'form[aria-label="Restore backup"] [role=status]').textContent).to.contain(
      'not a tincan backup',
    );
    app.importBackup = async () => {
      throw codeError('DECRYPT_FAILED');
    };
    fill(form, { backup: 'tincan-backup-v1:AAAA', pass: 'pw' });
    form.querySelector('button')!.click();
    await until(
      () => $(el, 'form[aria-label="Restore backup"] [role=status]').textContent!.includes('Wrong'),
      'wrong passphrase',
    );
    app.importBackup = FixtureApp.prototype.importBackup;
    fill(form, { backup: 'tincan-backup-v1:AAAA', pass: 'pw' });
    form.querySelector('button')!.click();
    await until(
      () => $(el, 'form[aria-label="Restore backup"] [role=status]').textContent === 'Identity restored.',
      'restored',
    );
  });
});
