/**
 * `<tc-invite-dialog>`: makes an invite link — role, expiry, number of uses and
 * optionally one channel — with `server.createInvite`, then shows it with a Copy
 * button (`navigator.clipboard`). The link's fragment holds the key-bundle secret:
 * the text says to send it privately.
 *
 * @fires tc-invite-close - the dialog closed.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError } from '../../ui/format.ts';
import { base, dialogStyles } from '../../ui/theme.styles.ts';
import { styles } from './invite-dialog.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-invite-close': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-invite-dialog': TcInviteDialog;
  }
}

export const EXPIRIES: [label: string, seconds: number][] = [
  ['30 minutes', 1800],
  ['1 hour', 3600],
  ['1 day', 86400],
  ['7 days', 7 * 86400],
  ['30 days', 30 * 86400],
];
export const USES: [label: string, uses: number][] = [
  ['1 use', 1],
  ['5 uses', 5],
  ['25 uses', 25],
  ['100 uses', 100],
  ['No limit', 0],
];

@customElement('tc-invite-dialog')
export class TcInviteDialog extends LitElement {
  static override styles = [base, dialogStyles, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  @property({ type: Boolean, reflect: true }) open = false;
  @state() private link = '';
  @state() private error = '';
  @state() private status = '';
  @state() private busy = false;
  @query('dialog') private dialog!: HTMLDialogElement | null;

  protected override updated(): void {
    if (this.open && this.dialog && !this.dialog.open) this.dialog.showModal();
    if (!this.open && this.dialog?.open) this.dialog.close();
  }

  private roles(): string[] {
    const s = this.server;
    const seen = [...(s?.members.value.flatMap((m) => m.roles) ?? []), ...(s?.me.value?.roles ?? [])];
    return [...new Set(['member', 'guest', ...seen])];
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const s = this.server;
    if (!s) return;
    const data = new FormData(event.target as HTMLFormElement);
    const channel = data.get('channel')?.toString();
    this.busy = true;
    this.error = this.status = '';
    try {
      this.link = await s.createInvite({
        role: data.get('role')?.toString() ?? 'member',
        expiresIn: Number(data.get('expiry')),
        maxUses: Number(data.get('uses')),
        ...(channel ? { channel } : {}),
      });
    } catch (error) {
      this.error = describeError(error);
    } finally {
      this.busy = false;
    }
  }

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.link);
      this.status = 'Link copied.';
    } catch {
      this.status = 'Could not copy: select the link and copy it yourself.';
      this.renderRoot.querySelector<HTMLInputElement>('.link input')?.select();
    }
  }

  private onClose(): void {
    this.open = false;
    this.link = this.error = this.status = '';
    emit(this, 'tc-invite-close', {});
  }

  private renderForm() {
    const channels = this.server?.channels.value ?? [];
    return html`<form @submit=${this.create}>
      <div class="grid">
        <label class="field">Role<select name="role">${this.roles().map((r) => html`<option value=${r} ?selected=${r === 'member'}>${r}</option>`)}</select></label>
        <label class="field">Expires after<select name="expiry">${EXPIRIES.map(([l, s]) => html`<option value=${s} ?selected=${s === 86400}>${l}</option>`)}</select></label>
        <label class="field">Can be used<select name="uses">${USES.map(([l, n]) => html`<option value=${n} ?selected=${n === 1}>${l}</option>`)}</select></label>
        <label class="field">Opens<select name="channel"><option value="">The whole server</option>
          ${channels.map((c) => html`<option value=${c.id}>${c.kind === 'voice' ? '🔊' : '#'}${c.name}</option>`)}</select></label>
      </div>
      <div class="actions">
        <button type="button" @click=${() => this.dialog?.close()}>Cancel</button>
        <button type="submit" class="primary" ?disabled=${this.busy}>${this.busy ? 'Creating…' : 'Create link'}</button>
      </div>
    </form>`;
  }

  override render() {
    if (!this.open) return nothing;
    return html`<dialog aria-labelledby="invite-title" @close=${this.onClose}>
      <h2 id="invite-title">Invite people to ${this.server?.name.value ?? 'this server'}</h2>
      ${
        this.link
          ? html`<p>Send this link privately: anyone who has it can join until it expires or is used up.</p>
              <div class="link">
                <label class="visually-hidden" for="link">Invite link</label>
                <input id="link" readonly .value=${this.link} @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()} />
                <button type="button" class="primary" @click=${this.copy}>Copy link</button>
              </div>
              <p role="status">${this.status}</p>
              <div class="actions"><button type="button" @click=${() => (this.link = '')}>Make another</button>
                <button type="button" @click=${() => this.dialog?.close()}>Done</button></div>`
          : this.renderForm()
      }
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    </dialog>`;
  }
}
