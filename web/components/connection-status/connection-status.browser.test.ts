import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { ConnectionState } from '../../net/connection.ts';
import { $, $$ } from '../testing/dom.ts';
import { onlineState } from '../testing/fixtures.ts';
import './connection-status.component.ts';
import type { TcConnectionStatus } from './connection-status.component.ts';

async function show(state: ConnectionState, now = 1_000_000): Promise<TcConnectionStatus> {
  const el = await fixture<TcConnectionStatus>(
    html`<tc-connection-status server="Blue" .state=${state}></tc-connection-status>`,
  );
  el.now = () => now;
  el.requestUpdate();
  await el.updateComplete;
  return el;
}

describe('<tc-connection-status>', () => {
  it('shows nothing visible while online', async () => {
    const el = await show(onlineState());
    expect($$(el, '.banner')).to.have.length(0);
  });

  it('says it is connecting', async () => {
    const el = await show({ status: 'connecting' });
    expect($(el, '[role=status]').textContent).to.contain('Connecting to Blue');
  });

  it('counts down to the next try outside the live region and offers Retry now', async () => {
    const el = await show(
      { status: 'reconnecting', nextAt: 1_004_200, attempt: 3, lastError: 'closed with 1006' },
      1_000_000,
    );
    expect($(el, '[role=status]').textContent).to.contain('attempt 3');
    expect($(el, '[role=status]').textContent).not.to.contain('Next try');
    expect($(el, '.countdown').textContent).to.equal('Next try in 5 s.');
    el.now = () => 1_003_500;
    el.requestUpdate();
    await el.updateComplete;
    expect($(el, '.countdown').textContent).to.equal('Next try in 1 s.');
    setTimeout(() => $(el, 'button').click());
    await oneEvent(el, 'tc-retry');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('says plainly why it is offline', async () => {
    const el = await show({ status: 'offline', reason: 'closed with 4440', code: 'KICKED' });
    const alert = $(el, '[role=alert]');
    expect(alert.textContent).to.contain('removed from this server');
    const other = await show({ status: 'offline', reason: 'the server is gone', code: 'INTERNAL' });
    expect($(other, '[role=alert]').textContent).to.contain('the server is gone');
  });
});
