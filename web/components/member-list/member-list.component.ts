/**
 * `<tc-member-list>`: a server's members in Online and Offline groups, with their
 * top role, the local tags this user gave them (lemon-chat style: only you see
 * them, and you can filter by one), a muted icon and a warning when a member's key
 * changed. Up/Down/Home/End move between members; Enter opens the member panel.
 *
 * @fires tc-member-open - {key} a member was chosen (the shell shows `<tc-member-panel>`).
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import { RovingFocusController } from '../../controllers/roving-focus.ts';
import type { MemberInfo, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { initials } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base } from '../../ui/theme.styles.ts';
import { styles } from './member-list.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-member-list': TcMemberList;
  }
}

const ROLE_RANK = ['admin', 'moderator', 'member', 'guest'];

/** The role to show: the highest known one, else the first. */
export function topRole(roles: readonly string[]): string | undefined {
  return ROLE_RANK.find((r) => roles.includes(r)) ?? roles[0];
}

@customElement('tc-member-list')
export class TcMemberList extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  @state() private tag = '';

  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () =>
    this.server ? [this.server.members, this.server.me] : [],
  );
  private readonly roving = new RovingFocusController(this, {
    items: () => [...this.renderRoot.querySelectorAll<HTMLElement>('button.member')],
  });

  override focus(): void {
    this.roving.focus();
  }

  private renderMember(m: MemberInfo) {
    const role = topRole(m.roles);
    const muted = m.serverMuted || m.voice.some((v) => v.muted);
    const label = [
      m.name,
      role,
      m.tags.length ? `tags: ${m.tags.join(', ')}` : '',
      muted ? 'muted' : '',
      m.keyChanged ? 'warning: key changed' : '',
    ]
      .filter(Boolean)
      .join(', ');
    return html`<li>
      <button type="button" class="member" data-key=${m.key}
        @click=${() => emit(this, 'tc-member-open', { key: m.key })}>
        <span class="avatar" aria-hidden="true">${initials(m.name)}</span>
        <span class="who" aria-hidden="true">
          <span class="name">${m.name}</span>
          <span>${role ? html`<span class="role">${role}</span>` : nothing}
            ${m.tags.map((t) => html`<span class="tag">${t}</span>`)}</span>
        </span>
        <span class="visually-hidden">${label}</span>
        ${muted ? icon('micOff') : nothing}
        ${m.keyChanged ? html`<span class="warn" title="Key changed">${icon('warning')}</span>` : nothing}
      </button>
    </li>`;
  }

  private renderGroup(id: string, title: string, members: MemberInfo[]) {
    if (members.length === 0) return nothing;
    return html`<h2 id=${id}>${title} — ${members.length}</h2>
      <ul class=${id} aria-labelledby=${id}>${members.map((m) => this.renderMember(m))}</ul>`;
  }

  override render() {
    const all = this.server?.members.value ?? [];
    const tags = [...new Set(all.flatMap((m) => m.tags))].sort();
    const tag = tags.includes(this.tag) ? this.tag : '';
    const shown = (tag ? all.filter((m) => m.tags.includes(tag)) : all)
      .slice()
      .sort((a, b) => a.name.localeCompare(b.name));
    return html`<section aria-label="Members" @keydown=${this.roving.onKeydown} @focusin=${this.roving.onFocusin}>
      ${
        tags.length
          ? html`<label class="filter">Show
              <select @change=${(e: Event) => (this.tag = (e.target as HTMLSelectElement).value)}>
                <option value="">Everyone</option>
                ${tags.map((t) => html`<option value=${t} ?selected=${t === tag}>Tagged “${t}”</option>`)}
              </select></label>`
          : nothing
      }
      ${this.renderGroup(
        'online',
        'Online',
        shown.filter((m) => m.online),
      )}
      ${this.renderGroup(
        'offline',
        'Offline',
        shown.filter((m) => !m.online),
      )}
      ${shown.length === 0 ? html`<p class="muted">Nobody here.</p>` : nothing}
    </section>`;
  }
}
