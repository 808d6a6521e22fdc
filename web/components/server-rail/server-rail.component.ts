/**
 * `<tc-server-rail>`: the column of servers (initials, unread badges, a warning dot
 * when the connection is in trouble), "add a server" by pasting an invite link,
 * settings, and per-server options. Arrow keys move between servers (one Tab stop);
 * Alt+Up/Down or drag and drop reorders; Shift+F10, the context-menu key or a right
 * click opens a menu with Move up/down and Leave (confirmed).
 *
 * @fires tc-server-select - {id} a server was chosen.
 * @fires tc-server-add - {link} an invite link was pasted.
 * @fires tc-server-reorder - {ids} the new order of all server ids.
 * @fires tc-server-leave - {id} leaving was confirmed.
 * @fires tc-settings-open - the settings button was pressed.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ConfirmController } from '../../controllers/confirm.ts';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import { RovingFocusController } from '../../controllers/roving-focus.ts';
import type { ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { initials } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base, dialogStyles } from '../../ui/theme.styles.ts';
import { styles } from './server-rail.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-server-select': CustomEvent<{ id: string }>;
    'tc-server-add': CustomEvent<{ link: string }>;
    'tc-server-reorder': CustomEvent<{ ids: string[] }>;
    'tc-server-leave': CustomEvent<{ id: string }>;
    'tc-settings-open': CustomEvent<Record<string, never>>;
  }
  interface HTMLElementTagNameMap {
    'tc-server-rail': TcServerRail;
  }
}

/** Sum of a server's unread counts. */
export function unreadTotal(server: ServerView): number {
  return Object.values(server.unread.value).reduce((a, b) => a + b, 0);
}

@customElement('tc-server-rail')
export class TcServerRail extends LitElement {
  static override styles = [base, dialogStyles, styles];

  @property({ attribute: false }) servers: ServerView[] = [];
  @property() selected: string | undefined;
  @state() private menuFor: string | undefined;
  @state() private adding = false;
  @state() private addError = '';
  @state() private dropTarget: string | undefined;
  private dragging: string | undefined;

  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () =>
    this.servers.flatMap((s) => [s.unread, s.name, s.connection]),
  );
  private readonly confirm = new ConfirmController(this);
  private readonly roving = new RovingFocusController(this, {
    items: () => [...this.renderRoot.querySelectorAll<HTMLElement>('button.server')],
    preferred: () => this.renderRoot.querySelector<HTMLElement>('button.server[aria-current]'),
  });

  /** Focuses the current server (F6 region navigation). */
  override focus(): void {
    if (!this.roving.focus()) this.renderRoot.querySelector<HTMLElement>('button.add')?.focus();
  }

  private button(id: string): HTMLElement | null {
    return this.renderRoot.querySelector(`button.server[data-id="${CSS.escape(id)}"]`);
  }

  private async move(id: string, to: number): Promise<void> {
    const ids = this.servers.map((s) => s.id);
    const from = ids.indexOf(id);
    if (from === -1 || to < 0 || to >= ids.length || to === from) return;
    ids.splice(to, 0, ...ids.splice(from, 1));
    emit(this, 'tc-server-reorder', { ids });
    await this.updateComplete;
    const button = this.button(id);
    if (button) {
      this.roving.setCurrent(button);
      button.focus();
    }
  }

  private onKeydown(event: KeyboardEvent, server: ServerView, index: number): void {
    if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      void this.move(server.id, index + (event.key === 'ArrowUp' ? -1 : 1));
    } else if (event.key === 'ContextMenu' || (event.shiftKey && event.key === 'F10')) {
      event.preventDefault();
      void this.openMenu(server.id);
    }
  }

  private async openMenu(id: string): Promise<void> {
    this.menuFor = id;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')?.focus();
  }

  private closeMenu(focusServer = true): void {
    const id = this.menuFor;
    this.menuFor = undefined;
    if (focusServer && id) this.button(id)?.focus();
  }

  private onMenuKeydown(event: KeyboardEvent): void {
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])')];
    const at = items.indexOf(event.target as HTMLElement);
    if (event.key === 'Escape') this.closeMenu();
    else if (event.key === 'ArrowDown') items[(at + 1) % items.length]?.focus();
    else if (event.key === 'ArrowUp') items[(at - 1 + items.length) % items.length]?.focus();
    else return;
    event.preventDefault();
    event.stopPropagation();
  }

  private onMenuFocusout(event: FocusEvent): void {
    const next = event.relatedTarget as Node | null;
    if (!next || !(event.currentTarget as HTMLElement).contains(next)) this.closeMenu(false);
  }

  private async leave(server: ServerView): Promise<void> {
    this.closeMenu(false);
    const name = server.name.value;
    const ok = await this.confirm.confirm({
      title: `Leave ${name}?`,
      body: 'You will need a new invite link to come back.',
      confirmLabel: `Leave ${name}`,
      danger: true,
    });
    if (ok) emit(this, 'tc-server-leave', { id: server.id });
  }

  private onAdd(event: SubmitEvent): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).querySelector('input')!;
    const link = input.value.trim();
    if (!/#invite=./.test(link)) {
      this.addError = 'That is not an invite link: it should contain “#invite=”.';
      return;
    }
    this.adding = false;
    this.addError = '';
    emit(this, 'tc-server-add', { link });
  }

  private onDragStart(event: DragEvent, id: string): void {
    this.dragging = id;
    event.dataTransfer?.setData('text/plain', id);
    if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
  }

  private onDragOver(event: DragEvent, id: string): void {
    if (!this.dragging) return;
    event.preventDefault();
    this.dropTarget = id;
  }

  private onDrop(event: DragEvent, index: number): void {
    event.preventDefault();
    const id = this.dragging;
    this.dragging = this.dropTarget = undefined;
    if (id) void this.move(id, index);
  }

  private renderServer(server: ServerView, index: number) {
    const name = server.name.value;
    const unread = unreadTotal(server);
    const status = server.connection.value.status;
    const trouble = status === 'reconnecting' || status === 'offline';
    const label = `${name}${unread ? `, ${unread} unread` : ''}${trouble ? `, ${status}` : ''}`;
    return html`<li
      draggable="true"
      class=${this.dropTarget === server.id ? 'drop-target' : ''}
      @dragstart=${(e: DragEvent) => this.onDragStart(e, server.id)}
      @dragover=${(e: DragEvent) => this.onDragOver(e, server.id)}
      @dragleave=${() => (this.dropTarget = undefined)}
      @drop=${(e: DragEvent) => this.onDrop(e, index)}
      @dragend=${() => (this.dragging = this.dropTarget = undefined)}
    >
      <button
        type="button"
        class=${trouble ? 'server trouble' : 'server'}
        data-id=${server.id}
        aria-current=${this.selected === server.id ? 'page' : nothing}
        title=${name}
        @click=${() => emit(this, 'tc-server-select', { id: server.id })}
        @keydown=${(e: KeyboardEvent) => this.onKeydown(e, server, index)}
        @contextmenu=${(e: MouseEvent) => {
          e.preventDefault();
          void this.openMenu(server.id);
        }}
      >
        <span aria-hidden="true">${initials(name)}</span><span class="visually-hidden">${label}</span>
        ${unread ? html`<span class="badge" aria-hidden="true">${unread > 99 ? '99+' : unread}</span>` : nothing}
      </button>
      ${this.menuFor === server.id ? this.renderMenu(server, index) : nothing}
    </li>`;
  }

  private renderMenu(server: ServerView, index: number) {
    const last = this.servers.length - 1;
    return html`<div
      role="menu"
      aria-label=${`Options for ${server.name.value}`}
      @keydown=${this.onMenuKeydown}
      @focusout=${this.onMenuFocusout}
    >
      <button role="menuitem" type="button" ?disabled=${index === 0} @click=${() => this.move(server.id, index - 1)}>
        Move up
      </button>
      <button role="menuitem" type="button" ?disabled=${index === last} @click=${() => this.move(server.id, index + 1)}>
        Move down
      </button>
      <button role="menuitem" type="button" class="danger" @click=${() => this.leave(server)}>Leave server…</button>
    </div>`;
  }

  override render() {
    return html`<nav aria-label="Servers">
        <ul role="list" @keydown=${this.roving.onKeydown} @focusin=${this.roving.onFocusin}>
          ${this.servers.map((s, i) => this.renderServer(s, i))}
        </ul>
        <button type="button" class="round add" aria-label="Add a server" aria-expanded=${this.adding}
          @click=${() => (this.adding = !this.adding)}>${icon('add')}</button>
        ${
          this.adding
            ? html`<form class="add" @submit=${this.onAdd}>
                <label class="visually-hidden" for="link">Invite link</label>
                <input id="link" type="url" placeholder="Paste invite link" required autocomplete="off" />
                ${this.addError ? html`<p class="error" role="alert">${this.addError}</p>` : nothing}
                <button type="submit" class="primary">Join</button>
              </form>`
            : nothing
        }
        <span class="spacer"></span>
        <button type="button" class="round" aria-label="Settings" @click=${() => emit(this, 'tc-settings-open', {})}>
          ${icon('gear')}
        </button>
      </nav>
      ${this.confirm.render()}`;
  }
}
