/**
 * `<tc-message-list>`: a conversation's messages, windowed — at most MAX_WINDOW
 * messages are in the DOM (ui/message-window.ts); scrolling near the top shows
 * earlier ones and then asks the core for older history (`loadOlder`, while
 * `hasOlder`), scrolling down brings newer ones back. Follows new messages while at
 * the bottom (and marks the conversation read), keeps the reading position steady
 * otherwise. Up/Down/Home/End move between messages; Tab reaches the focused
 * message's author, reactions and actions.
 *
 * @fires tc-reply - {message} "Reply" was pressed.
 * @fires tc-member-open - {key} an author's name was pressed.
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { ConfirmController } from '../../controllers/confirm.ts';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import { RovingFocusController } from '../../controllers/roving-focus.ts';
import type { ChatMessage, ConversationView, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError, nameOf } from '../../ui/format.ts';
import {
  continues,
  extendDown,
  extendUp,
  FOLLOWING,
  type MessageWindow,
  windowRange,
} from '../../ui/message-window.ts';
import { base, dialogStyles } from '../../ui/theme.styles.ts';
import { styles } from './message-list.styles.ts';
import { type MessageContext, renderMessage } from './message-view.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-reply': CustomEvent<{ message: ChatMessage }>;
  }
  interface HTMLElementTagNameMap {
    'tc-message-list': TcMessageList;
  }
}

const EDGE_PX = 200;
const byIdCache = new WeakMap<readonly ChatMessage[], Map<string, ChatMessage>>();

function indexById(messages: readonly ChatMessage[]): Map<string, ChatMessage> {
  let map = byIdCache.get(messages);
  if (!map) byIdCache.set(messages, (map = new Map(messages.map((m) => [m.id, m]))));
  return map;
}

export function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

@customElement('tc-message-list')
export class TcMessageList extends LitElement {
  static override styles = [base, dialogStyles, styles];

  @property({ attribute: false }) conversation: ConversationView | undefined;
  @property({ attribute: false }) server: ServerView | undefined;
  /** Accessible name of the log ("Messages in #general"). */
  @property() label = 'Messages';
  @state() window: MessageWindow = FOLLOWING;
  @state() private editing: string | undefined;
  @state() private picking: string | undefined;
  @state() private active: string | undefined;
  @state() private error = '';
  private loadingOlder = false;
  private scrollQueued = false;
  private anchor: { id: string; offset: number } | undefined;
  private lastRead: string | undefined;
  private shown: { messages: readonly ChatMessage[] | undefined; window: MessageWindow | undefined } = {
    messages: undefined,
    window: undefined,
  };

  /** Registered with the host on construction: re-renders when these sources change. */
  protected readonly observed = new ObserveAllController(this, () => {
    const c = this.conversation;
    const s = this.server;
    return [c?.messages, c?.typing, c?.hasOlder, s?.members, s?.formerNames, s?.me].filter(
      (o) => o !== undefined,
    );
  });
  private readonly confirm = new ConfirmController(this);
  private readonly roving = new RovingFocusController(this, {
    items: () => this.articles(),
    preferred: () => this.articles().at(-1),
  });

  private articles(): HTMLElement[] {
    return [...this.renderRoot.querySelectorAll<HTMLElement>('article')];
  }

  private get scroller(): HTMLElement | null {
    return this.renderRoot.querySelector('.scroller');
  }

  private get messages(): readonly ChatMessage[] {
    return this.conversation?.messages.value ?? [];
  }

  override focus(): void {
    if (!this.roving.focus()) this.scroller?.focus();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('conversation')) {
      this.window = FOLLOWING;
      this.editing = this.picking = this.active = undefined;
      this.lastRead = undefined;
    }
    this.anchor = this.hasUpdated && !this.window.follow ? this.findAnchor() : undefined;
  }

  protected override updated(): void {
    const el = this.scroller;
    if (!el) return;
    const shown = this.shown;
    this.shown = { messages: this.messages, window: this.window };
    const anchor =
      this.anchor && this.renderRoot.querySelector(`article[data-id="${CSS.escape(this.anchor.id)}"]`);
    if (anchor && this.anchor) {
      el.scrollTop +=
        anchor.getBoundingClientRect().top - el.getBoundingClientRect().top - this.anchor.offset;
    } else if (this.window.follow && (shown.messages !== this.messages || shown.window !== this.window)) {
      // Only when messages or the window changed: focus moving inside the list must not yank the view.
      el.scrollTop = el.scrollHeight;
      const last = this.messages.at(-1);
      if (last && last.id !== this.lastRead && document.visibilityState === 'visible') {
        this.lastRead = last.id;
        this.conversation?.markRead();
      }
    }
  }

  /** The first message at least partly visible, and its offset from the top of the scroller. */
  private findAnchor(): { id: string; offset: number } | undefined {
    const top = this.scroller?.getBoundingClientRect().top ?? 0;
    const first = this.articles().find((a) => a.getBoundingClientRect().bottom > top);
    return first ? { id: first.dataset.id!, offset: first.getBoundingClientRect().top - top } : undefined;
  }

  private onScroll(): void {
    if (this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      this.checkScroll();
    });
  }

  private checkScroll(): void {
    const el = this.scroller;
    if (!el) return;
    const { start, end } = windowRange(this.messages, this.window);
    const below = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (el.scrollTop < EDGE_PX && (start > 0 || this.conversation?.hasOlder.value)) void this.showOlder();
    else if (below < EDGE_PX && end < this.messages.length)
      this.window = extendDown(this.messages, this.window);
    else if (below < 4 && end === this.messages.length && !this.window.follow)
      this.window = { ...this.window, follow: true };
    else if (below >= EDGE_PX && this.window.follow)
      this.window = { first: this.messages[start]?.id, size: end - start, follow: false };
  }

  /** Shows earlier messages already loaded, or asks the core for older history. */
  async showOlder(): Promise<void> {
    const { start, end } = windowRange(this.messages, this.window);
    if (start > 0) {
      // Reading back: stop following the newest, so the view stays on what is being read.
      this.window = extendUp(this.messages, { ...this.window, follow: false });
      return;
    }
    const c = this.conversation;
    if (!c?.hasOlder.value || this.loadingOlder) return;
    this.loadingOlder = true;
    this.window = { first: this.messages[start]?.id, size: end - start, follow: false };
    try {
      await c.loadOlder();
    } catch (error) {
      this.error = describeError(error);
    } finally {
      this.loadingOlder = false;
    }
    await this.updateComplete;
    if (windowRange(this.messages, this.window).start > 0) await this.showOlder();
  }

  private async jumpToNewest(): Promise<void> {
    this.window = FOLLOWING;
    await this.updateComplete;
    this.articles().at(-1)?.focus();
  }

  private async onKeydown(event: KeyboardEvent): Promise<void> {
    const items = this.articles();
    const at = items.indexOf(event.target as HTMLElement);
    if (at === -1 || event.altKey || event.ctrlKey || event.metaKey) return;
    const id = items[at]!.dataset.id!;
    const { start, end } = windowRange(this.messages, this.window);
    const older = at === 0 && event.key === 'ArrowUp' && (start > 0 || this.conversation?.hasOlder.value);
    const newer = at === items.length - 1 && event.key === 'ArrowDown' && end < this.messages.length;
    if (!older && !newer) return this.roving.onKeydown(event);
    event.preventDefault();
    if (older) await this.showOlder();
    else this.window = extendDown(this.messages, this.window);
    await this.updateComplete;
    const next = this.articles();
    const moved = next[next.findIndex((a) => a.dataset.id === id) + (older ? -1 : 1)];
    moved?.focus();
  }

  private onFocusin(event: FocusEvent): void {
    this.roving.onFocusin(event);
    const article = (event.target as HTMLElement).closest?.('article');
    if (article && article.dataset.id !== this.active) this.active = article.dataset.id;
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    this.error = '';
    try {
      await action();
    } catch (error) {
      this.error = describeError(error);
    }
  }

  private context(c: ConversationView): MessageContext {
    return {
      conversation: c,
      members: this.server?.members.value ?? [],
      former: this.server?.formerNames?.value ?? {},
      me: this.server?.me.value?.key,
      byId: indexById(this.messages),
      editing: this.editing,
      picking: this.picking,
      reply: (m) => emit(this, 'tc-reply', { message: m }),
      react: (m, emoji) => {
        this.picking = undefined;
        void this.run(() => c.react(m.id, emoji));
      },
      pick: (m) => (this.picking = m?.id),
      edit: (m) => (this.editing = m?.id),
      saveEdit: (m, text) => {
        this.editing = undefined;
        void this.run(() => c.edit(m.id, text));
      },
      remove: async (m) => {
        const ok = await this.confirm.confirm({
          title: 'Delete this message?',
          body: 'Everyone will see that a message was deleted.',
          confirmLabel: 'Delete message',
          danger: true,
        });
        if (ok) await this.run(() => c.remove(m.id));
      },
      openMember: (key) => emit(this, 'tc-member-open', { key }),
    };
  }

  override render() {
    const c = this.conversation;
    if (!c) return nothing;
    const messages = this.messages;
    const { start, end } = windowRange(messages, this.window);
    const ctx = this.context(c);
    const me = ctx.me;
    const typing = c.typing.value.filter((k) => k !== me).map((k) => nameOf(k, ctx.members));
    return html`<div class="scroller" @scroll=${this.onScroll}>
        ${
          start > 0 || c.hasOlder.value
            ? html`<button type="button" class="older" @click=${() => this.showOlder()}>
                ${start > 0 ? 'Show earlier messages' : 'Load older messages'}</button>`
            : messages.length
              ? html`<p class="start muted">This is the start of the conversation.</p>`
              : html`<p class="start muted">No messages yet. Say hello!</p>`
        }
        <div role="log" aria-live="polite" aria-relevant="additions" aria-label=${this.label}
          @keydown=${this.onKeydown} @focusin=${this.onFocusin}>
          ${repeat(
            messages.slice(start, end),
            (m) => m.id,
            (m, i) => renderMessage(m, continues(messages[start + i - 1], m), m.id === this.active, ctx),
          )}
        </div>
        ${end < messages.length ? html`<button type="button" class="newest primary" @click=${this.jumpToNewest}>Jump to newest</button>` : nothing}
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="typing" role="status">${typingText(typing)}</div>
      ${this.confirm.render()}`;
  }
}
