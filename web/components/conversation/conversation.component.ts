/**
 * `<tc-conversation>`: one open conversation — the message list over the composer.
 * Opens it with `server.open(id)` and closes it when the id changes or the element
 * leaves the DOM; holds the message being replied to between the two.
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { ObserveController } from '../../controllers/observe.ts';
import type { ChatMessage, ConversationView, ServerView } from '../../core/model.ts';
import { base } from '../../ui/theme.styles.ts';
import '../composer/composer.component.ts';
import type { TcComposer } from '../composer/composer.component.ts';
import { OFFLINE_REASONS } from '../connection-status/connection-status.component.ts';
import '../message-list/message-list.component.ts';
import type { TcMessageList } from '../message-list/message-list.component.ts';
import { styles } from './conversation.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-conversation': TcConversation;
  }
}

@customElement('tc-conversation')
export class TcConversation extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  @property({ attribute: 'conversation-id' }) conversationId: string | undefined;
  /** How the conversation is called ("#general", "Alice"). */
  @property() label = '';
  @state() private conversation: ConversationView | undefined;
  @state() private replyTo: ChatMessage | undefined;
  @query('tc-composer') composer!: TcComposer | null;
  @query('tc-message-list') messageList!: TcMessageList | null;

  private readonly connection = new ObserveController(this, () => this.server?.connection);

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server') || changed.has('conversationId') || !this.conversation) this.reopen();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated) this.reopen();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.conversation?.close();
    this.conversation = undefined;
  }

  private reopen(): void {
    const wanted = this.server && this.conversationId ? this.conversationId : undefined;
    if (this.conversation?.id === wanted && this.conversation) return;
    this.conversation?.close();
    this.replyTo = undefined;
    this.conversation = wanted ? this.server!.open(wanted) : undefined;
  }

  private async onReply(event: CustomEvent<{ message: ChatMessage }>): Promise<void> {
    this.replyTo = event.detail.message;
    await this.updateComplete;
    this.composer?.focus();
  }

  override render() {
    if (!this.conversation) return html`<p class="muted">Pick a channel.</p>`;
    const state = this.connection.value;
    const online = state?.status === 'online';
    const closed =
      state?.status === 'offline'
        ? (OFFLINE_REASONS[state.code] ?? (state.reason || 'disconnected from the server.'))
        : '';
    return html`<tc-message-list .conversation=${this.conversation} .server=${this.server}
        label=${`Messages in ${this.label}`} @tc-reply=${this.onReply}></tc-message-list>
      ${
        this.conversationId
          ? html`<tc-composer .conversation=${this.conversation} .server=${this.server} .replyTo=${this.replyTo}
              .online=${online} closed=${closed} target=${this.label} @tc-reply-cancel=${() => (this.replyTo = undefined)}></tc-composer>`
          : nothing
      }`;
  }
}
