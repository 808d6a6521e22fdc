import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { $, $$, press, until } from '../testing/dom.ts';
import { codeError, FixtureConversation, FixtureServer, member, message } from '../testing/fixtures.ts';
import './composer.component.ts';
import type { TcComposer } from './composer.component.ts';

function server(permissions = ['send', 'upload']) {
  return new FixtureServer('s', 'Blue', { permissions, members: [member('me'), member('Alice')] });
}

async function composer(options: { online?: boolean; closed?: string; permissions?: string[] } = {}) {
  const c = new FixtureConversation('general');
  const s = server(options.permissions);
  const el = await fixture<TcComposer>(html`<tc-composer .conversation=${c} .server=${s} target="#general"
    .online=${options.online ?? true} closed=${options.closed ?? ''}></tc-composer>`);
  return { el, c, s, box: el.shadowRoot!.querySelector('textarea')! };
}

function files(...names: string[]): DataTransfer {
  const data = new DataTransfer();
  for (const name of names) data.items.add(new File([name], name, { type: 'text/plain' }));
  return data;
}

describe('<tc-composer>', () => {
  it('sends on Enter and inserts a line break on Shift+Enter', async () => {
    const { el, c, box } = await composer();
    expect(box.getAttribute('aria-label')).to.equal('Message #general');
    box.focus();
    await sendKeys({ type: 'first line' });
    await sendKeys({ down: 'Shift' });
    await sendKeys({ press: 'Enter' });
    await sendKeys({ up: 'Shift' });
    await sendKeys({ type: 'second' });
    expect(box.value).to.equal('first line\nsecond');
    await sendKeys({ press: 'Enter' });
    await until(() => c.count('send') === 1, 'send');
    expect(c.calls.find((x) => x[0] === 'send')).to.deep.equal(['send', 'first line\nsecond', {}]);
    expect(box.value).to.equal('');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('does not send empty messages or while an IME is composing', async () => {
    const { c, box } = await composer();
    box.value = '   ';
    press(box, 'Enter');
    box.value = 'かな';
    press(box, 'Enter', { isComposing: true });
    await new Promise((r) => setTimeout(r));
    expect(c.count('send')).to.equal(0);
  });

  it('shows the reply bar, cancels it with Escape, and sends the reply', async () => {
    const { el, c, box } = await composer();
    const quoted = message('Alice', 'the **original** text', { id: 'q1' });
    el.replyTo = quoted;
    await el.updateComplete;
    expect($(el, '.bar').textContent)
      .to.contain('Replying to')
      .and.to.contain('Alice')
      .and.to.contain('the original text');
    setTimeout(() => press(box, 'Escape'));
    await oneEvent(el, 'tc-reply-cancel');
    box.value = 'yes';
    const cancelled = oneEvent(el, 'tc-reply-cancel');
    press(box, 'Enter');
    await cancelled;
    await until(() => c.count('send') === 1, 'send');
    expect(c.calls.find((x) => x[0] === 'send')).to.deep.equal(['send', 'yes', { replyTo: 'q1' }]);
  });

  it('attaches files from the picker, paste and drop, and sends them', async () => {
    const { el, c, box } = await composer();
    const input = $<HTMLInputElement>(el, 'input[type=file]');
    input.files = files('a.txt').files;
    input.dispatchEvent(new Event('change'));
    box.dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: files('b.txt'), bubbles: true, cancelable: true }),
    );
    el.dispatchEvent(
      new DragEvent('drop', { dataTransfer: files('c.txt', 'd.txt'), bubbles: true, cancelable: true }),
    );
    await el.updateComplete;
    expect($$(el, '.chip button').map((b) => b.getAttribute('aria-label'))).to.deep.equal([
      'Remove a.txt',
      'Remove b.txt',
      'Remove c.txt',
      'Remove d.txt',
    ]);
    $(el, 'button[aria-label="Remove c.txt"]').click();
    await el.updateComplete;
    $(el, 'button[type=submit]').click();
    await until(() => c.count('send') === 1, 'send');
    const [, text, options] = c.calls.find((x) => x[0] === 'send')! as [string, string, { files: File[] }];
    expect(text).to.equal('');
    expect(options.files.map((f) => f.name)).to.deep.equal(['a.txt', 'b.txt', 'd.txt']);
    await el.updateComplete;
    expect($$(el, '.chip')).to.have.length(0);
  });

  it('pings typing at most every 3 seconds', async () => {
    const { el, c, box } = await composer();
    let now = 10_000;
    el.now = () => now;
    for (const text of ['h', 'he', 'hel']) {
      box.value = text;
      box.dispatchEvent(new Event('input'));
      now += 500;
    }
    now += 3000;
    box.value = 'hell';
    box.dispatchEvent(new Event('input'));
    expect(c.count('setTyping')).to.equal(2);
  });

  it('offline, still accepts messages and says they are queued', async () => {
    const { el, c, box } = await composer({ online: false });
    expect($(el, '.note').textContent).to.contain('queued');
    box.value = 'later';
    const sent = oneEvent(el, 'tc-sent');
    press(box, 'Enter');
    expect((await sent).detail.queued).to.equal(true);
    expect(c.count('send')).to.equal(1);
    await el.updateComplete;
    expect($(el, '[role=status]').textContent).to.contain('queued');
  });

  it('keeps the text and says why when sending fails', async () => {
    const { el, c, box } = await composer();
    c.failSend = codeError('RATE_LIMITED');
    box.value = 'too fast';
    press(box, 'Enter');
    await until(() => $$(el, '[role=alert]').length, 'the error');
    expect(box.value).to.equal('too fast');
    expect($(el, '[role=alert]').textContent).to.contain('Too fast');
  });

  it('follows permissions: no upload → no attach button; no send → no composer', async () => {
    const { el } = await composer({ permissions: ['send'] });
    expect($$(el, 'button[aria-label="Attach files"]')).to.have.length(0);
    const mute = await composer({ permissions: [] });
    expect($$(mute.el, 'textarea')).to.have.length(0);
    expect($(mute.el, '.note').textContent).to.contain('do not have permission');
  });
  it('offers no composer once the server ended the session for good, and says why', async () => {
    const { el } = await composer({
      online: false,
      closed: 'You were removed from this server by a moderator.',
    });
    expect(el.shadowRoot!.querySelector('textarea'), 'no text box for a removed member').to.equal(null);
    expect(el.shadowRoot!.querySelector('.note')!.textContent).to.contain('removed from this server');
    expect(el.shadowRoot!.textContent).not.to.contain('queued');
  });
});
