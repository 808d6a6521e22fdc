/**
 * `<tc-connection-status>`: one server's connection as a banner — connecting,
 * reconnecting (with a countdown to the next try and "Retry now") or offline with
 * the reason. Nothing shows while online. The wording sits in a polite live region;
 * the ticking countdown sits outside it so screen readers are not told every second.
 *
 * @fires tc-retry - "Retry now" was pressed (the shell calls `server.retryNow()`).
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { TickerController } from '../../controllers/ticker.ts';
import type { ConnectionState } from '../../net/connection.ts';
import { emit } from '../../ui/events.ts';
import { base } from '../../ui/theme.styles.ts';
import { styles } from './connection-status.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-retry': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-connection-status': TcConnectionStatus;
  }
}

export const OFFLINE_REASONS: Record<string, string> = {
  KICKED: 'You were removed from this server by a moderator.',
  BANNED: 'You are banned from this server.',
  AUTH_FAILED: 'The server did not accept this identity. The invite may have expired or been used.',
  UNSUPPORTED_VERSION: 'This app and the server speak different protocol versions. Reload the page.',
  TOO_MANY_CONNECTIONS: 'Too many connections from this device or network.',
};

@customElement('tc-connection-status')
export class TcConnectionStatus extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) state: ConnectionState | undefined;
  /** The server's name, for the wording. */
  @property() server = 'the server';
  /** Clock, replaceable in tests. */
  now: () => number = Date.now;

  /** Registered with the host on construction: re-renders each second while reconnecting. */
  protected readonly ticker = new TickerController(this, () => this.state?.status === 'reconnecting');

  private retry(): void {
    emit(this, 'tc-retry', {});
  }

  override render() {
    const s = this.state;
    if (!s || s.status === 'online') return html`<div role="status" class="visually-hidden"></div>`;
    if (s.status === 'connecting')
      return html`<div class="banner"><span role="status">Connecting to ${this.server}…</span></div>`;
    if (s.status === 'reconnecting') {
      const seconds = Math.max(0, Math.ceil((s.nextAt - this.now()) / 1000));
      return html`<div class="banner">
        <span role="status">Connection to ${this.server} lost. Reconnecting (attempt ${s.attempt}).</span>
        <span class="countdown">${seconds > 0 ? `Next try in ${seconds} s.` : 'Trying now…'}</span>
        ${s.lastError ? html`<span class="muted-reason">(${s.lastError})</span>` : nothing}
        <button type="button" @click=${this.retry}>Retry now</button>
      </div>`;
    }
    const reason = OFFLINE_REASONS[s.code] ?? s.reason;
    return html`<div class="banner offline" role="alert">Disconnected from ${this.server}: ${reason}</div>`;
  }
}
