/**
 * `<tc-member-panel>`: a member in a modal dialog — roles, the 60-digit safety
 * number to compare in person or on a call (`server.safetyNumber`), a warning when
 * their key changed, local tags, "Send message", and the moderation actions this
 * user's role allows (rename, mute, kick, ban), each confirmed first.
 *
 * @fires tc-dm-open - {key} "Send message" was pressed.
 * @fires tc-member-close - the dialog closed.
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { ConfirmController } from '../../controllers/confirm.ts';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import type { MemberInfo, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError, digitLines } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base, dialogStyles } from '../../ui/theme.styles.ts';
import { styles } from './member-panel.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-dm-open': CustomEvent<{ key: string }>;
    'tc-member-close': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-member-panel': TcMemberPanel;
  }
}

@customElement('tc-member-panel')
export class TcMemberPanel extends LitElement {
  static override styles = [base, dialogStyles, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  /** The member's user id; the dialog is open while it is set. */
  @property() key: string | undefined;
  @state() private error = '';
  @query('dialog.panel') private dialog!: HTMLDialogElement | null;

  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () =>
    this.server ? [this.server.members, this.server.me] : [],
  );
  private readonly confirm = new ConfirmController(this);

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('key')) this.error = '';
    if (this.key && this.dialog && !this.dialog.open) this.dialog.showModal();
  }

  private get member(): MemberInfo | undefined {
    return this.server?.members.value.find((m) => m.key === this.key);
  }

  /** Runs `action` once confirmed; `closeAfter` closes the panel when it succeeded (the member is gone). */
  private async act(
    confirmed: Promise<unknown>,
    action: (value: string) => Promise<unknown>,
    closeAfter = false,
  ): Promise<void> {
    const answer = await confirmed;
    if (answer === false || answer === undefined) return;
    this.error = '';
    try {
      await action(typeof answer === 'string' ? answer : '');
      if (closeAfter) this.close();
    } catch (error) {
      this.error = describeError(error);
    }
  }

  private rename(m: MemberInfo) {
    return this.act(
      this.confirm.prompt({
        title: `Rename ${m.name}`,
        label: 'New name',
        value: m.name,
        confirmLabel: 'Rename',
      }),
      (name) => this.server!.rename(m.key, name),
    );
  }

  private mute(m: MemberInfo) {
    const muting = !m.serverMuted;
    return this.act(
      this.confirm.confirm({
        title: `${muting ? 'Mute' : 'Unmute'} ${m.name}?`,
        body: muting ? 'They will not be heard in voice channels on this server until unmuted.' : undefined,
        confirmLabel: `${muting ? 'Mute' : 'Unmute'} ${m.name}`,
        danger: muting,
      }),
      () => this.server!.mute(m.key, muting),
    );
  }

  private kick(m: MemberInfo) {
    return this.act(
      this.confirm.confirm({
        title: `Kick ${m.name}?`,
        body: 'They are removed from the server and need a new invite to come back.',
        confirmLabel: `Kick ${m.name}`,
        danger: true,
      }),
      () => this.server!.kick(m.key),
      true,
    );
  }

  private ban(m: MemberInfo) {
    return this.act(
      this.confirm.confirm({
        title: `Ban ${m.name}?`,
        body: 'They are removed and their key cannot join again, even with an invite.',
        confirmLabel: `Ban ${m.name}`,
        danger: true,
      }),
      () => this.server!.ban(m.key),
      true,
    );
  }

  /** A moderator drags someone to another voice channel, as in Mumble: no confirmation, their call follows. */
  private move(event: SubmitEvent, m: MemberInfo): void {
    event.preventDefault();
    const channel = new FormData(event.target as HTMLFormElement).get('channel')?.toString();
    if (channel) void this.act(Promise.resolve(true), () => this.server!.moveMember(m.key, channel));
  }

  private renderMove(s: ServerView, m: MemberInfo) {
    const current = m.voice[0]?.channel;
    if (current === undefined) return nothing;
    const voiceChannels = s.channels.value.filter((c) => c.kind === 'voice');
    const here = voiceChannels.find((c) => c.id === current)?.name ?? 'a voice channel';
    const targets = voiceChannels.filter((c) => c.id !== current);
    if (targets.length === 0) return nothing;
    return html`<form class="move" @submit=${(e: SubmitEvent) => this.move(e, m)}>
      <label for="move-to">In ${here}. Move to</label>
      <select id="move-to" name="channel">
        ${targets.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
      </select>
      <button type="submit">Move</button>
    </form>`;
  }

  private saveTags(event: SubmitEvent, m: MemberInfo): void {
    event.preventDefault();
    const text = new FormData(event.target as HTMLFormElement).get('tags')?.toString() ?? '';
    const tags = [
      ...new Set(
        text
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ].slice(0, 16);
    this.server!.setTags(m.key, tags);
  }

  private close(): void {
    this.dialog?.close();
  }

  private onClose(): void {
    if (this.confirm.open) return;
    emit(this, 'tc-member-close', {});
  }

  private renderBody(s: ServerView, m: MemberInfo) {
    const self = s.me.value?.key === m.key;
    const can = (p: string) => !self && s.can(p);
    return html`<h2 id="member-title">${m.name}</h2>
      <p class="roles">${m.roles.join(', ') || 'no role'} · ${m.online ? 'online' : 'offline'}${m.serverMuted ? ' · muted' : ''}</p>
      ${
        m.keyChanged
          ? html`<p class="warning" role="alert">${icon('warning')}<span><strong>${m.name}'s key changed.</strong>
              They may have reinstalled or restored a backup — or someone may be impersonating them.
              Compare the safety number again before trusting them.</span></p>`
          : nothing
      }
      ${
        self
          ? nothing
          : html`<h3 id="safety">Safety number</h3>
            <p class="digits" aria-labelledby="safety">${digitLines(s.safetyNumber(m.key)).map((l) => html`<span class="line">${l}</span> `)}</p>
            <p class="muted">Compare it with what ${m.name} sees, in person or on a call. If they match, nobody is in the middle.</p>`
      }
      <h3>Tags <span class="muted">(only you see them)</span></h3>
      <form class="tags" @submit=${(e: SubmitEvent) => this.saveTags(e, m)}>
        <label class="visually-hidden" for="tags">Tags, separated by commas</label>
        <input id="tags" name="tags" .value=${m.tags.join(', ')} placeholder="friends, team" />
        <button type="submit">Save tags</button>
      </form>
      ${can('move') ? this.renderMove(s, m) : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="actions">
        ${self ? nothing : html`<button type="button" class="primary" @click=${() => emit(this, 'tc-dm-open', { key: m.key })}>Send message</button>`}
        ${can('rename') ? html`<button type="button" @click=${() => this.rename(m)}>Rename…</button>` : nothing}
        ${can('mute') ? html`<button type="button" @click=${() => this.mute(m)}>${m.serverMuted ? 'Unmute…' : 'Mute…'}</button>` : nothing}
        ${can('kick') ? html`<button type="button" class="danger" @click=${() => this.kick(m)}>Kick…</button>` : nothing}
        ${can('ban') ? html`<button type="button" class="danger" @click=${() => this.ban(m)}>Ban…</button>` : nothing}
        <button type="button" @click=${this.close}>Close</button>
      </div>`;
  }

  override render() {
    const s = this.server;
    const m = this.member;
    if (!s || !this.key) return nothing;
    return html`<dialog class="panel" aria-labelledby="member-title" @close=${this.onClose}>
        ${
          m
            ? this.renderBody(s, m)
            : html`<h2 id="member-title">Unknown member</h2><p>This person is no longer a member.</p>
              <div class="actions"><button type="button" @click=${this.close}>Close</button></div>`
        }
      </dialog>
      ${this.confirm.render()}`;
  }
}
