/**
 * `<tc-welcome>`: shown while this browser is in no server yet. Explains that a
 * server is joined by opening an invite link (or pasting one here), and points to
 * restoring an identity backup for people moving from another browser.
 *
 * Dispatches `tc-server-add` ({link}) and `tc-settings-open`, declared by `<tc-server-rail>`.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { emit } from '../../ui/events.ts';
import { base, cardPage } from '../../ui/theme.styles.ts';
import { styles } from './welcome.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-welcome': TcWelcome;
  }
}

@customElement('tc-welcome')
export class TcWelcome extends LitElement {
  static override styles = [base, cardPage, styles];

  @state() private error = '';

  private onSubmit(event: SubmitEvent): void {
    event.preventDefault();
    const link = new FormData(event.target as HTMLFormElement).get('link')?.toString().trim() ?? '';
    if (!/#invite=./.test(link)) {
      this.error = 'That is not an invite link: it should contain “#invite=”.';
      return;
    }
    this.error = '';
    emit(this, 'tc-server-add', { link });
  }

  override render() {
    return html`<main>
      <h1>Welcome to tincan</h1>
      <p>tincan is voice and text chat where only the people in a conversation can read or hear it: not even
        the server's owner can.</p>
      <p><strong>To join a server, open the invite link someone sent you.</strong> It looks like
        <code>https://chat.example.org/#invite=…</code>. You can also paste it here:</p>
      <form @submit=${this.onSubmit}>
        <label class="visually-hidden" for="link">Invite link</label>
        <input id="link" name="link" type="url" required placeholder="https://…/#invite=…" autocomplete="off" />
        <button type="submit" class="primary">Continue</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p class="muted">Used tincan in another browser? Your identity is kept per browser. To bring it here,
        <button type="button" class="link-button" @click=${() => emit(this, 'tc-settings-open', {})}>restore a
        backup in Settings</button> before joining.</p>
    </main>`;
  }
}
