/**
 * `<tc-join>`: joins a server from an invite link. Reads what the link says (role,
 * expiry, whether it is intact) without trusting it, asks for a display name, calls
 * `app.join(link, name)`, then shows the server's fingerprint so the person can
 * check it against what the inviter sees before going on. Errors are said plainly
 * (an expired or used-up invite is `AUTH_FAILED`).
 *
 * @fires tc-joined - {id} the server was joined and the person pressed "Open".
 * @fires tc-join-cancel - the person went back without joining.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { type Invite, parseInviteLink } from '../../../crypto/invite.ts';
import type { AppView, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError, digitLines, formatDateTime } from '../../ui/format.ts';
import { base, cardPage } from '../../ui/theme.styles.ts';
import { styles } from './join.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-joined': CustomEvent<{ id: string }>;
    'tc-join-cancel': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-join': TcJoin;
  }
}

/** The invite in a link, or undefined when the link is damaged. Verifies nothing. */
export function readInvite(link: string): Invite | undefined {
  const at = link.indexOf('#invite=');
  if (at === -1) return undefined;
  try {
    return parseInviteLink(decodeURIComponent(link.slice(at + '#invite='.length))).invite;
  } catch {
    return undefined; // damaged or cut short: said in the view
  }
}

function hostOf(link: string): string {
  try {
    return new URL(link).host;
  } catch {
    return 'this server';
  }
}

@customElement('tc-join')
export class TcJoin extends LitElement {
  static override styles = [base, cardPage, styles];

  @property({ attribute: false }) app: AppView | undefined;
  @property() link = '';
  /** Show "Back" (there are other servers to go back to). */
  @property({ type: Boolean }) cancellable = false;
  @state() private busy = false;
  @state() private error = '';
  @state() private joined: ServerView | undefined;
  /** Clock, replaceable in tests. */
  now: () => number = Date.now;

  private async join(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const name = new FormData(event.target as HTMLFormElement).get('name')?.toString().trim() ?? '';
    if (!this.app || !name) return;
    this.busy = true;
    this.error = '';
    try {
      this.joined = await this.app.join(this.link, name);
    } catch (error) {
      this.error = describeError(error);
    } finally {
      this.busy = false;
    }
  }

  private renderJoined(s: ServerView) {
    return html`<main aria-labelledby="title">
      <h1 id="title">You joined ${s.name.value}</h1>
      <p>This is the server's fingerprint. The person who invited you can see it too: if it matches, you reached
        the right server and nobody is in between.</p>
      <p class="digits" aria-label=${`Server fingerprint ${s.fingerprint}`}>${digitLines(s.fingerprint, 3).map((l) => html`<span class="line">${l}</span> `)}</p>
      <div class="buttons">
        <button type="button" class="primary" @click=${() => emit(this, 'tc-joined', { id: s.id })}>Open ${s.name.value}</button>
      </div>
    </main>`;
  }

  override render() {
    if (this.joined) return this.renderJoined(this.joined);
    const invite = readInvite(this.link);
    const expired = invite !== undefined && invite.expiresAt * 1000 < this.now();
    return html`<main aria-labelledby="title">
      <h1 id="title">Join a server on ${hostOf(this.link)}</h1>
      ${
        invite
          ? html`<dl>
              <dt>Role</dt><dd>${invite.role}</dd>
              <dt>Invite expires</dt><dd>${formatDateTime(invite.expiresAt * 1000)}</dd>
              ${invite.channelId ? html`<dt>Opens</dt><dd>a channel</dd>` : nothing}
            </dl>`
          : html`<p class="warning" role="alert">This invite link looks damaged or cut short. Ask for the full link.</p>`
      }
      ${expired ? html`<p class="warning" role="alert">This invite seems to have expired. Ask for a new one.</p>` : nothing}
      <p>Your browser makes a key pair for you: the private key never leaves this device.</p>
      <form @submit=${this.join}>
        <label class="field" for="name">Your display name</label>
        <input id="name" name="name" required maxlength="32" autocomplete="nickname"
          .value=${this.app?.settings.value.displayName ?? ''} ?disabled=${this.busy} />
        <div class="buttons">
          <button type="submit" class="primary" ?disabled=${this.busy}>${this.busy ? 'Joining…' : 'Join'}</button>
          ${this.cancellable ? html`<button type="button" @click=${() => emit(this, 'tc-join-cancel', {})}>Back</button>` : nothing}
        </div>
      </form>
      <p role="status">${this.busy ? `Connecting to ${hostOf(this.link)}…` : ''}</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    </main>`;
  }
}
