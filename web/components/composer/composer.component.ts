/**
 * `<tc-composer>`: writes a message. Enter sends, Shift+Enter is a new line (and
 * Enter during IME composition is left to the IME); Escape cancels a reply. Files
 * come from the attach button, paste or drop. Typing pings go out at most every
 * TYPING_MS. Offline, it still sends — the core queues the message (`pending`) —
 * and says so.
 *
 * @fires tc-reply-cancel - the reply bar was closed (or the reply was sent).
 * @fires tc-sent - {queued} a message was handed to the core.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { ChatMessage, ConversationView, ServerView } from '../../core/model.ts';
import { emit } from '../../ui/events.ts';
import { describeError, formatBytes, nameOf } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { plainText } from '../../ui/markdown.ts';
import { base } from '../../ui/theme.styles.ts';
import { styles } from './composer.styles.ts';

declare global {
  interface GlobalEventHandlersEventMap {
    'tc-reply-cancel': CustomEvent<Record<string, never>>;
    'tc-sent': CustomEvent<{ queued: boolean }>;
  }
  interface HTMLElementTagNameMap {
    'tc-composer': TcComposer;
  }
}

/** At most one typing ping per this many milliseconds. */
export const TYPING_MS = 3000;

@customElement('tc-composer')
export class TcComposer extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) conversation: ConversationView | undefined;
  @property({ attribute: false }) server: ServerView | undefined;
  @property({ attribute: false }) replyTo: ChatMessage | undefined;
  /** False while the server connection is down: messages are queued. */
  @property({ type: Boolean }) online = true;
  /** Set when the server ended the session for good (kicked, banned, refused): nothing can be sent or queued. */
  @property() closed = '';
  /** What the message goes to, for the label ("#general"). */
  @property() target = 'this conversation';
  @state() private files: File[] = [];
  @state() private error = '';
  @state() private announcement = '';
  @query('textarea') private textarea!: HTMLTextAreaElement;
  @query('input[type=file]') private picker!: HTMLInputElement;
  private lastPing = 0;
  /** Clock, replaceable in tests. */
  now: () => number = Date.now;

  override connectedCallback(): void {
    super.connectedCallback();
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', this.onDragLeave);
    this.addEventListener('drop', this.onDrop);
  }

  override focus(): void {
    this.textarea?.focus();
  }

  private get mayUpload(): boolean {
    return !this.server?.me.value || this.server.can('upload');
  }

  private get maySend(): boolean {
    return !this.server?.me.value || this.server.can('send');
  }

  private addFiles(list: FileList | null | undefined): void {
    if (!list?.length || !this.mayUpload) return;
    this.files = [...this.files, ...Array.from(list)];
  }

  private readonly onDragOver = (event: DragEvent): void => {
    if (!event.dataTransfer?.types.includes('Files') || !this.mayUpload) return;
    event.preventDefault();
    this.classList.add('dragging');
  };

  private readonly onDragLeave = (): void => this.classList.remove('dragging');

  private readonly onDrop = (event: DragEvent): void => {
    this.classList.remove('dragging');
    if (!event.dataTransfer?.files.length) return;
    event.preventDefault();
    this.addFiles(event.dataTransfer.files);
  };

  private onPaste(event: ClipboardEvent): void {
    if (!event.clipboardData?.files.length) return;
    event.preventDefault();
    this.addFiles(event.clipboardData.files);
  }

  private onKeydown(event: KeyboardEvent): void {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void this.send();
    } else if (event.key === 'Escape' && this.replyTo) {
      event.preventDefault();
      emit(this, 'tc-reply-cancel', {});
    }
  }

  private onInput(): void {
    this.error = '';
    if (!this.textarea.value.trim() || this.now() - this.lastPing < TYPING_MS) return;
    this.lastPing = this.now();
    this.conversation?.setTyping();
  }

  /** Sends what is written (also used by the Send button). */
  async send(): Promise<void> {
    const c = this.conversation;
    const text = this.textarea.value.trim();
    const files = this.files;
    if (!c || (!text && files.length === 0) || !this.maySend) return;
    const replyTo = this.replyTo?.id;
    const queued = !this.online;
    this.textarea.value = '';
    this.files = [];
    this.lastPing = 0;
    if (replyTo) emit(this, 'tc-reply-cancel', {});
    try {
      await c.send(text, { ...(replyTo ? { replyTo } : {}), ...(files.length ? { files } : {}) });
      this.announcement = queued ? 'Message queued: it will be sent when the connection is back.' : '';
      emit(this, 'tc-sent', { queued });
    } catch (error) {
      this.textarea.value = text;
      this.files = files;
      this.error = describeError(error);
    }
  }

  private renderReply(m: ChatMessage) {
    const name = nameOf(m.author, this.server?.members.value);
    return html`<div class="bar">
      ${icon('reply')}<span class="text">Replying to <strong>${name}</strong>: ${plainText(m.text, 80)}</span>
      <button type="button" class="icon" aria-label="Cancel reply" @click=${() => emit(this, 'tc-reply-cancel', {})}>
        ${icon('close')}
      </button>
    </div>`;
  }

  override render() {
    const label = `Message ${this.target}`;
    if (!this.maySend) return html`<p class="note">You do not have permission to send messages here.</p>`;
    if (this.closed)
      return html`<p class="note" role="status">You cannot send messages here: ${this.closed}</p>`;
    return html`
      ${this.replyTo ? this.renderReply(this.replyTo) : nothing}
      ${
        this.files.length
          ? html`<ul class="files" aria-label="Attached files">
              ${this.files.map(
                (f, i) => html`<li class="chip">${f.name} <span class="muted">${formatBytes(f.size)}</span>
                  <button type="button" class="icon" aria-label=${`Remove ${f.name}`}
                    @click=${() => (this.files = this.files.filter((_, j) => j !== i))}>${icon('close')}</button></li>`,
              )}
            </ul>`
          : nothing
      }
      ${this.online ? nothing : html`<p class="note">Not connected. Messages you send now are queued and go out when the connection is back.</p>`}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <form @submit=${(e: SubmitEvent) => {
        e.preventDefault();
        void this.send();
      }}>
        ${
          this.mayUpload
            ? html`<input type="file" multiple hidden @change=${(e: Event) => {
                const input = e.target as HTMLInputElement;
                this.addFiles(input.files);
                input.value = '';
              }} />
                <button type="button" class="icon" aria-label="Attach files" title="Attach files" @click=${() => this.picker.click()}>
                  ${icon('attach')}
                </button>`
            : nothing
        }
        <textarea rows="1" aria-label=${label} placeholder=${label} maxlength="20000"
          @keydown=${this.onKeydown} @input=${this.onInput} @paste=${this.onPaste}></textarea>
        <button type="submit" class="primary">Send</button>
      </form>
      <div class="visually-hidden" role="status">${this.announcement}</div>`;
  }
}
