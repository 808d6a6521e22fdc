/**
 * `<tc-channel-list>`: a server's channels as a nested, ordered list — text and
 * voice icons, unread counts, a lock on locked channels, who is in each voice
 * channel. Up/Down/Home/End move between channels (one Tab stop). With
 * `manage_channels`: create, and per channel (the ⋮ button, Right arrow, Shift+F10
 * or the context-menu key) rename, move up/down (also Alt+Up/Down) and delete.
 *
 * @fires tc-channel-select - {id, kind} a channel was chosen.
 * @fires tc-invite-open - the "Invite people" button was pressed.
 * @fires tc-dm-open - {key} a direct message in the list was chosen.
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ConfirmController } from '../../controllers/confirm.ts';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import { RovingFocusController } from '../../controllers/roving-focus.ts';
import type { ChannelInfo, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError, nameOf } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base, dialogStyles } from '../../ui/theme.styles.ts';
import { styles } from './channel-list.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-channel-select': CustomEvent<{ id: string; kind: 'text' | 'voice' }>;
    'tc-invite-open': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-channel-list': TcChannelList;
  }
}

/** Channels by parent id ('' for the top level), each list in display order; orphans go to the top. */
export function channelTree(channels: readonly ChannelInfo[]): Map<string, ChannelInfo[]> {
  const ids = new Set(channels.map((c) => c.id));
  const tree = new Map<string, ChannelInfo[]>();
  for (const c of channels) {
    const parent = c.parent && ids.has(c.parent) && c.parent !== c.id ? c.parent : '';
    tree.set(parent, [...(tree.get(parent) ?? []), c]);
  }
  for (const list of tree.values()) list.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  return tree;
}

@customElement('tc-channel-list')
export class TcChannelList extends LitElement {
  static override styles = [base, dialogStyles, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  @property() selected: string | undefined;
  @state() private editing: string | undefined;
  @state() private creating = false;
  @state() private error = '';

  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () => {
    const s = this.server;
    return s ? [s.channels, s.unread, s.members, s.me, s.name, ...(s.dms ? [s.dms] : [])] : [];
  });
  private readonly confirm = new ConfirmController(this);
  private readonly roving = new RovingFocusController(this, {
    items: () => [...this.renderRoot.querySelectorAll<HTMLElement>('button.channel')],
    preferred: () => this.renderRoot.querySelector<HTMLElement>('button.channel[aria-current]'),
  });

  override focus(): void {
    this.roving.focus();
  }

  private get manager(): boolean {
    return this.server?.can('manage_channels') ?? false;
  }

  private async act(action: () => Promise<unknown>): Promise<boolean> {
    this.error = '';
    try {
      await action();
      return true;
    } catch (error) {
      this.error = describeError(error);
      return false;
    }
  }

  private async move(c: ChannelInfo, by: -1 | 1): Promise<void> {
    const siblings = channelTree(this.server!.channels.value).get(c.parent ?? '') ?? [];
    const to = siblings.findIndex((s) => s.id === c.id) + by;
    if (to < 0 || to >= siblings.length) return;
    await this.act(() => this.server!.moveChannel(c.id, c.parent, to));
    this.renderRoot.querySelector<HTMLElement>(`button.channel[data-id="${CSS.escape(c.id)}"]`)?.focus();
  }

  private async deleteChannel(c: ChannelInfo): Promise<void> {
    const ok = await this.confirm.confirm({
      title: `Delete #${c.name}?`,
      body: 'Its messages will no longer be shown to anyone.',
      confirmLabel: `Delete #${c.name}`,
      danger: true,
    });
    if (ok && (await this.act(() => this.server!.deleteChannel(c.id)))) this.editing = undefined;
  }

  private async rename(event: SubmitEvent, c: ChannelInfo): Promise<void> {
    event.preventDefault();
    const name = new FormData(event.target as HTMLFormElement).get('name')?.toString().trim();
    if (name && name !== c.name && (await this.act(() => this.server!.updateChannel(c.id, { name }))))
      this.editing = undefined;
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const name = data.get('name')?.toString().trim() ?? '';
    const kind = data.get('kind') === 'voice' ? 'voice' : 'text';
    const parent = data.get('parent')?.toString() || undefined;
    if (name && (await this.act(() => this.server!.createChannel(name, kind, parent)))) this.creating = false;
  }

  private onChannelKeydown(event: KeyboardEvent, c: ChannelInfo): void {
    if (!this.manager) return;
    if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      void this.move(c, event.key === 'ArrowUp' ? -1 : 1);
    } else if (event.key === 'ContextMenu' || (event.shiftKey && event.key === 'F10')) {
      event.preventDefault();
      void this.openEditor(c.id);
    } else if (event.key === 'ArrowRight') {
      event.preventDefault();
      (event.currentTarget as HTMLElement).parentElement
        ?.querySelector<HTMLElement>('button.options')
        ?.focus();
    }
  }

  private onOptionsKeydown(event: KeyboardEvent): void {
    if (event.key !== 'ArrowLeft') return;
    event.preventDefault();
    ((event.currentTarget as HTMLElement).previousElementSibling as HTMLElement | null)?.focus();
  }

  private async openEditor(id: string): Promise<void> {
    this.editing = this.editing === id ? undefined : id;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>('form.edit input')?.focus();
  }

  private renderChannel(c: ChannelInfo, tree: Map<string, ChannelInfo[]>, depth: number): TemplateResult {
    const s = this.server!;
    const unread = s.unread.value[c.id] ?? 0;
    const label = [c.name, `${c.kind} channel`, unread ? `${unread} unread` : '', c.locked ? 'locked' : '']
      .filter(Boolean)
      .join(', ');
    const inVoice =
      c.kind === 'voice' ? s.members.value.filter((m) => m.voice.some((v) => v.channel === c.id)) : [];
    const children = depth < 8 ? (tree.get(c.id) ?? []) : [];
    return html`<li>
      <div class="row">
        <button type="button" class=${unread ? 'channel unread' : 'channel'} data-id=${c.id}
          aria-current=${this.selected === c.id ? 'page' : nothing}
          @click=${() => emit(this, 'tc-channel-select', { id: c.id, kind: c.kind })}
          @keydown=${(e: KeyboardEvent) => this.onChannelKeydown(e, c)}>
          ${c.kind === 'voice' ? icon('speaker') : html`<span aria-hidden="true">#</span>`}
          <span class="name" aria-hidden="true">${c.name}</span><span class="visually-hidden">${label}</span>
          ${c.locked ? icon('lock') : nothing}
          ${unread ? html`<span class="badge" aria-hidden="true">${unread > 99 ? '99+' : unread}</span>` : nothing}
        </button>
        ${
          this.manager
            ? html`<button type="button" class="icon options" tabindex="-1" aria-label=${`Options for ${c.name}`}
                aria-expanded=${this.editing === c.id} @click=${() => this.openEditor(c.id)}
                @keydown=${this.onOptionsKeydown}>${icon('more')}</button>`
            : nothing
        }
      </div>
      ${this.editing === c.id ? this.renderEditor(c) : nothing}
      ${
        inVoice.length
          ? html`<ul class="voice-members" aria-label=${`In ${c.name}`}>${inVoice.map((m) => html`<li>${m.name}</li>`)}</ul>`
          : nothing
      }
      ${children.length ? html`<ul role="list">${children.map((child): TemplateResult => this.renderChannel(child, tree, depth + 1))}</ul>` : nothing}
    </li>`;
  }

  private renderEditor(c: ChannelInfo) {
    return html`<form class="edit" aria-label=${`Edit ${c.name}`} @submit=${(e: SubmitEvent) => this.rename(e, c)}
      @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && ((this.editing = undefined))}>
      <label>Name <input name="name" required maxlength="64" .value=${c.name} /></label>
      <div class="buttons">
        <button type="submit" class="primary">Rename</button>
        <button type="button" @click=${() => this.move(c, -1)}>Move up</button>
        <button type="button" @click=${() => this.move(c, 1)}>Move down</button>
        <button type="button" class="danger" @click=${() => this.deleteChannel(c)}>Delete…</button>
      </div>
    </form>`;
  }

  private renderCreate(channels: readonly ChannelInfo[]) {
    return html`<form class="create" aria-label="Create a channel" @submit=${this.create}>
      <label>Name <input name="name" required maxlength="64" /></label>
      <label>Kind <select name="kind"><option value="text">Text</option><option value="voice">Voice</option></select></label>
      <label>Inside <select name="parent"><option value="">(top level)</option>
        ${channels.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select></label>
      <div class="buttons">
        <button type="submit" class="primary">Create</button>
        <button type="button" @click=${() => (this.creating = false)}>Cancel</button>
      </div>
    </form>`;
  }

  /** Direct messages, like Discord's list: who, and how many unread. */
  private renderDms(s: ServerView) {
    const dms = s.dms?.value ?? [];
    if (dms.length === 0) return nothing;
    const members = s.members.value;
    return html`<h3 id="dms-title" class="dms-title">Direct messages</h3>
      <ul role="list" class="dms" aria-labelledby="dms-title">
        ${dms.map((key) => {
          const id = s.dmWith(key);
          const unread = s.unread.value[id] ?? 0;
          const name = nameOf(key, members, s.formerNames?.value);
          return html`<li><button type="button" class=${unread ? 'channel dm unread' : 'channel dm'} data-key=${key}
            aria-current=${this.selected === id ? 'page' : nothing}
            @click=${() => emit(this, 'tc-dm-open', { key })}>
            <span aria-hidden="true">@</span><span class="name">${name}</span>
            ${unread ? html`<span class="badge" aria-label=${`${unread} unread`}>${unread > 99 ? '99+' : unread}</span>` : nothing}
          </button></li>`;
        })}
      </ul>`;
  }

  override render() {
    const s = this.server;
    if (!s) return nothing;
    const channels = s.channels.value;
    const tree = channelTree(channels);
    return html`<nav aria-label="Channels">
        <header>
          <h2>${s.name.value}</h2>
          ${
            s.can('invite')
              ? html`<button type="button" class="icon" aria-label="Invite people" title="Invite people"
                @click=${() => emit(this, 'tc-invite-open', {})}>${icon('invite')}</button>`
              : nothing
          }
          ${
            this.manager
              ? html`<button type="button" class="icon" aria-label="Create channel" title="Create channel"
                aria-expanded=${this.creating} @click=${() => (this.creating = !this.creating)}>${icon('add')}</button>`
              : nothing
          }
        </header>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        ${this.creating ? this.renderCreate(channels) : nothing}
        <ul role="list" class="tree" @keydown=${this.roving.onKeydown} @focusin=${this.roving.onFocusin}>
          ${(tree.get('') ?? []).map((c) => this.renderChannel(c, tree, 1))}
        </ul>
        ${channels.length === 0 ? html`<p class="muted">No channels yet.</p>` : nothing}
        ${this.renderDms(s)}
      </nav>
      ${this.confirm.render()}`;
  }
}
