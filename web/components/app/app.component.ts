/**
 * `<tc-app>`: the shell. Routes by state — an `#invite=…` link → `<tc-join>`; no
 * servers → `<tc-welcome>`; otherwise the server rail and channel list, the open
 * conversation under its connection banner, and the member list. Below 48rem wide
 * the two sidebars become drawers (toggle buttons in the header, Escape or the
 * scrim closes them). F6 / Shift+F6 move focus between the regions. Applies the
 * settings as theme tokens (`theme` attribute, custom properties via the CSSOM).
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { MediaQueryController } from '../../controllers/media-query.ts';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import type { AppView, ServerView, Settings } from '../../core/model.ts';
import { describeError, isHexColor, nameOf, textOn } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base, dialogStyles, themeTokens } from '../../ui/theme.styles.ts';
import { channelTree } from '../channel-list/channel-list.component.ts';
import '../connection-status/connection-status.component.ts';
import '../conversation/conversation.component.ts';
import '../invite-dialog/invite-dialog.component.ts';
import '../join/join.component.ts';
import '../member-list/member-list.component.ts';
import '../member-panel/member-panel.component.ts';
import '../server-rail/server-rail.component.ts';
import '../settings/settings.component.ts';
import '../voice/voice.component.ts';
import '../welcome/welcome.component.ts';
import { styles } from './app.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-app': TcApp;
  }
}

const DEFAULT_ACCENT = '#3b5bdb';

/** Applies the settings to the host: theme attribute and CSS custom properties (CSSOM, CSP-safe). */
export function applySettings(host: HTMLElement, s: Settings): void {
  host.setAttribute('theme', s.theme);
  const accent = isHexColor(s.accent) ? s.accent : DEFAULT_ACCENT;
  host.style.setProperty('--tc-accent', accent);
  host.style.setProperty('--tc-on-accent', textOn(accent));
  const scale = Number.isFinite(s.fontScale) ? Math.min(1.5, Math.max(0.75, s.fontScale)) : 1;
  host.style.setProperty('--tc-font-scale', String(scale));
  if (isHexColor(s.messageColor)) host.style.setProperty('--tc-message-color', s.messageColor);
  else host.style.removeProperty('--tc-message-color');
}

@customElement('tc-app')
export class TcApp extends LitElement {
  static override styles = [themeTokens, base, dialogStyles, styles];

  @property({ attribute: false }) app: AppView | undefined;
  /** Why the app could not start (no IndexedDB, a broken profile…), shown instead of "Starting". */
  @property({ attribute: false }) startError: string | undefined;
  @state() private serverId: string | undefined;
  @state() private inviteLink: string | undefined;
  @state() private drawer: 'none' | 'nav' | 'members' = 'none';
  @state() private showMembers = true;
  @state() private memberKey: string | undefined;
  @state() private inviteOpen = false;
  @state() private settingsOpen = false;
  @state() private error = '';
  /** The open conversation per server id, and the member of each DM opened here. */
  private readonly chosen = new Map<string, string>();
  private readonly dmPeers = new Map<string, string>();
  @query('dialog.settings') private settingsDialog!: HTMLDialogElement | null;

  private readonly narrow = new MediaQueryController(this, '(max-width: 47.99rem)');
  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () => {
    const s = this.server;
    return [
      this.app?.servers,
      this.app?.settings,
      s?.channels,
      s?.members,
      s?.me,
      s?.connection,
      s?.name,
    ].filter((o) => o !== undefined);
  });

  override connectedCallback(): void {
    super.connectedCallback();
    this.readHash();
    window.addEventListener('hashchange', this.readHash);
    this.addEventListener('keydown', this.onKeydown);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.readHash);
  }

  private readonly readHash = (): void => {
    if (/^#invite=./.test(location.hash)) this.inviteLink = location.href;
  };

  private clearHash(): void {
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  }

  get server(): ServerView | undefined {
    const servers = this.app?.servers.value ?? [];
    return servers.find((s) => s.id === this.serverId) ?? servers[0];
  }

  /** The open conversation of `s`: the one picked before if it still exists, else the first text channel. */
  conversationOf(s: ServerView): string | undefined {
    const channels = s.channels.value;
    const picked = this.chosen.get(s.id);
    if (picked && (this.dmPeers.has(picked) || channels.some((c) => c.id === picked))) return picked;
    const tree = channelTree(channels);
    const walk = (parent: string): string | undefined => {
      for (const c of tree.get(parent) ?? []) {
        if (c.kind === 'text') return c.id;
        const inner = walk(c.id);
        if (inner) return inner;
      }
      return undefined;
    };
    return walk('');
  }

  protected override willUpdate(): void {
    if (this.app) applySettings(this, this.app.settings.value);
    if (!this.narrow.matches && this.drawer !== 'none') this.drawer = 'none';
  }

  protected override updated(): void {
    if (this.settingsOpen && this.settingsDialog && !this.settingsDialog.open)
      this.settingsDialog.showModal();
  }

  private region(tag: string): HTMLElement | null {
    return this.renderRoot.querySelector(tag);
  }

  /** The regions F6 cycles through, in order, those on screen only. */
  private regions(): HTMLElement[] {
    const conversation = this.renderRoot.querySelector('tc-conversation');
    return [
      this.region('tc-server-rail'),
      this.region('tc-channel-list'),
      conversation?.messageList,
      conversation?.composer,
      this.region('tc-member-list'),
    ].filter(
      (el): el is HTMLElement =>
        !!el && el.checkVisibility({ visibilityProperty: true }) && !el.closest('[inert]'),
    );
  }

  private readonly onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.drawer !== 'none' && !event.defaultPrevented) {
      this.closeDrawer();
    } else if (event.key === 'F6') {
      event.preventDefault();
      const regions = this.regions();
      const at = regions.findIndex((el) => el.matches(':focus-within'));
      const next = regions[(at + (event.shiftKey ? -1 : 1) + regions.length) % regions.length];
      next?.focus();
    }
  };

  private async openDrawer(which: 'nav' | 'members'): Promise<void> {
    this.drawer = this.drawer === which ? 'none' : which;
    await this.updateComplete;
    if (this.drawer !== 'none') this.region(which === 'nav' ? 'tc-channel-list' : 'tc-member-list')?.focus();
  }

  private closeDrawer(): void {
    const was = this.drawer;
    this.drawer = 'none';
    this.renderRoot.querySelector<HTMLElement>(`button[aria-controls="${was}"]`)?.focus();
  }

  private select(serverId: string, conversation?: string): void {
    this.serverId = serverId;
    if (conversation) this.chosen.set(serverId, conversation);
    if (conversation && this.narrow.matches) this.drawer = 'none';
    this.requestUpdate(); // `chosen` is a plain Map: picking again on the same server changes no @state
  }

  /** A channel was picked: shown, and a voice channel joined too (the click lets the page use the mic). */
  private pick(s: ServerView, channel: { id: string; kind: 'text' | 'voice' }): void {
    this.select(s.id, channel.id);
    if (channel.kind === 'voice' && s.voice && s.voice.channel.value !== channel.id)
      void s.voice.join(channel.id);
  }

  private async leave(id: string): Promise<void> {
    try {
      await this.app?.leave(id);
      if (this.serverId === id) this.serverId = undefined;
    } catch (error) {
      this.error = describeError(error);
    }
  }

  private openDm(s: ServerView, key: string): void {
    const id = s.dmWith(key);
    this.dmPeers.set(id, key);
    this.memberKey = undefined;
    this.select(s.id, id);
  }

  private heading(s: ServerView, conversation: string | undefined): { label: string; topic: string } {
    const peer = conversation ? this.dmPeers.get(conversation) : undefined;
    if (peer) return { label: nameOf(peer, s.members.value), topic: 'Direct message' };
    const c = s.channels.value.find((ch) => ch.id === conversation);
    return c
      ? { label: `${c.kind === 'voice' ? '🔊 ' : '#'}${c.name}`, topic: c.topic }
      : { label: s.name.value, topic: '' };
  }

  private renderShell(app: AppView, s: ServerView) {
    const narrow = this.narrow.matches;
    const conversation = this.conversationOf(s);
    const { label, topic } = this.heading(s, conversation);
    const membersShown = narrow ? this.drawer === 'members' : this.showMembers;
    const classes = `shell${narrow ? ' narrow' : ''}${this.drawer !== 'none' ? ` open-${this.drawer}` : ''}`;
    return html`<div class=${classes}>
      <div class="nav" id="nav" ?inert=${narrow && this.drawer !== 'nav'}>
        <tc-server-rail .servers=${app.servers.value} selected=${s.id}
          @tc-server-select=${(e: CustomEvent<{ id: string }>) => this.select(e.detail.id)}
          @tc-server-add=${(e: CustomEvent<{ link: string }>) => (this.inviteLink = e.detail.link)}
          @tc-server-reorder=${(e: CustomEvent<{ ids: string[] }>) => app.reorder(e.detail.ids)}
          @tc-server-leave=${(e: CustomEvent<{ id: string }>) => this.leave(e.detail.id)}
          @tc-settings-open=${() => (this.settingsOpen = true)}></tc-server-rail>
        <div class="side">
        <tc-channel-list .server=${s} selected=${conversation ?? ''}
          @tc-channel-select=${(e: CustomEvent<{ id: string; kind: 'text' | 'voice' }>) => this.pick(s, e.detail)}
          @tc-dm-open=${(e: CustomEvent<{ key: string }>) => this.openDm(s, e.detail.key)}
          @tc-invite-open=${() => (this.inviteOpen = true)}></tc-channel-list>
        <tc-voice compact .server=${s} ptt-key=${app.settings.value.pushToTalkKey}
          @tc-ptt-key=${(e: CustomEvent<{ key: string }>) => app.updateSettings({ pushToTalkKey: e.detail.key })}></tc-voice>
        </div>
      </div>
      <main aria-label=${label}>
        <header class="bar">
          ${
            narrow
              ? html`<button type="button" class="icon" aria-label="Channels and servers" aria-controls="nav"
                aria-expanded=${this.drawer === 'nav'} @click=${() => this.openDrawer('nav')}>${icon('menu')}</button>`
              : nothing
          }
          <h1>${label}</h1>
          <span class="topic muted">${topic}</span>
          <button type="button" class="icon end" aria-label="Members" aria-controls="members" aria-expanded=${membersShown}
            @click=${() => (narrow ? this.openDrawer('members') : (this.showMembers = !this.showMembers))}>${icon('people')}</button>
        </header>
        <tc-connection-status .state=${s.connection.value} server=${s.name.value} @tc-retry=${() => s.retryNow()}></tc-connection-status>
        ${this.error ? html`<p class="alert error" role="alert">${this.error}</p>` : nothing}
        ${
          s.channels.value.some((c) => c.id === conversation && c.kind === 'voice')
            ? html`<tc-voice .server=${s} channel=${conversation!} ptt-key=${app.settings.value.pushToTalkKey}
                @tc-ptt-key=${(e: CustomEvent<{ key: string }>) => app.updateSettings({ pushToTalkKey: e.detail.key })}></tc-voice>`
            : nothing
        }
        <tc-conversation .server=${s} conversation-id=${conversation ?? nothing} label=${label}
          @tc-member-open=${(e: CustomEvent<{ key: string }>) => (this.memberKey = e.detail.key)}></tc-conversation>
      </main>
      <aside class="members" id="members" aria-label="Members" ?hidden=${!narrow && !this.showMembers} ?inert=${narrow && this.drawer !== 'members'}>
        <tc-member-list .server=${s} @tc-member-open=${(e: CustomEvent<{ key: string }>) => (this.memberKey = e.detail.key)}></tc-member-list>
      </aside>
      ${narrow && this.drawer !== 'none' ? html`<button type="button" class="scrim" tabindex="-1" aria-label="Close panel" @click=${this.closeDrawer}></button>` : nothing}
    </div>
    <tc-member-panel .server=${s} key=${this.memberKey ?? nothing} @tc-member-close=${() => (this.memberKey = undefined)}
      @tc-dm-open=${(e: CustomEvent<{ key: string }>) => this.openDm(s, e.detail.key)}></tc-member-panel>
    <tc-invite-dialog .server=${s} ?open=${this.inviteOpen} @tc-invite-close=${() => (this.inviteOpen = false)}></tc-invite-dialog>`;
  }

  private renderSettings(app: AppView) {
    if (!this.settingsOpen) return nothing;
    return html`<dialog class="settings" aria-labelledby="settings-title" @close=${() => (this.settingsOpen = false)}>
      <h2 id="settings-title">Settings</h2>
      <tc-settings .app=${app}></tc-settings>
      <div class="actions"><button type="button" @click=${() => this.settingsDialog?.close()}>Done</button></div>
    </dialog>`;
  }

  override render() {
    const app = this.app;
    if (!app)
      return this.startError
        ? html`<p class="starting error" role="alert">tincan could not start: ${this.startError}</p>`
        : html`<p class="starting" role="status">Starting tincan…</p>`;
    const servers = app.servers.value;
    let view: unknown;
    if (this.inviteLink)
      view = html`<tc-join .app=${app} link=${this.inviteLink} ?cancellable=${servers.length > 0}
        @tc-joined=${(e: CustomEvent<{ id: string }>) => {
          this.inviteLink = undefined;
          this.clearHash();
          this.select(e.detail.id);
        }}
        @tc-join-cancel=${() => {
          this.inviteLink = undefined;
          this.clearHash();
        }}></tc-join>`;
    else if (!this.server)
      view = html`<tc-welcome @tc-server-add=${(e: CustomEvent<{ link: string }>) => (this.inviteLink = e.detail.link)}
        @tc-settings-open=${() => (this.settingsOpen = true)}></tc-welcome>`;
    else view = this.renderShell(app, this.server);
    return html`${view}${this.renderSettings(app)}`;
  }
}
