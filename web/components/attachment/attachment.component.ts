/**
 * `<tc-attachment>`: one attachment of a message. Images of an allowed type (PNG,
 * JPEG, GIF, WebP — not SVG) up to `MAX_INLINE_BYTES` are fetched and decrypted by
 * `conversation.attachment(…)` and shown inline through an object URL; anything else
 * is a file chip with a Download button. Object URLs are revoked when the element
 * leaves the DOM (the message list drops off-screen messages), and made again if it
 * comes back.
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ObjectUrlController } from '../../controllers/object-urls.ts';
import type { Attachment, ConversationView } from '../../core/model.ts';
import { describeError, formatBytes } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base } from '../../ui/theme.styles.ts';
import { styles } from './attachment.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-attachment': TcAttachment;
  }
}

/** Images larger than this are not fetched automatically. */
export const MAX_INLINE_BYTES = 8 * 1024 * 1024;
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function showsInline(a: Attachment): boolean {
  return INLINE_TYPES.has(a.mime) && a.size <= MAX_INLINE_BYTES;
}

@customElement('tc-attachment')
export class TcAttachment extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) conversation: ConversationView | undefined;
  @property() message = '';
  @property({ attribute: false }) attachment: Attachment | undefined;
  @state() private url: string | undefined;
  @state() private error = '';
  private loading = false;
  readonly urls = new ObjectUrlController(this);

  override connectedCallback(): void {
    super.connectedCallback();
    // Reconnected after the controller revoked our URL: fetch again.
    this.url = undefined;
    if (this.hasUpdated) void this.loadImage();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('attachment') || changed.has('conversation')) void this.loadImage();
  }

  private async fetchBlob(): Promise<Blob | undefined> {
    const { conversation, attachment } = this;
    if (!conversation || !attachment) return undefined;
    try {
      const blob = await conversation.attachment(this.message, attachment.id);
      // Typed from the (signed) metadata, never sniffed from the bytes.
      return new Blob([blob], {
        type: INLINE_TYPES.has(attachment.mime) ? attachment.mime : 'application/octet-stream',
      });
    } catch (error) {
      this.error = describeError(error);
      return undefined;
    }
  }

  private async loadImage(): Promise<void> {
    if (!this.attachment || !showsInline(this.attachment) || this.loading || !this.isConnected) return;
    this.loading = true;
    const blob = await this.fetchBlob();
    this.loading = false;
    if (blob && this.isConnected) {
      if (this.url) this.urls.revoke(this.url);
      this.url = this.urls.create(blob);
    }
  }

  private async download(): Promise<void> {
    const blob = await this.fetchBlob();
    if (!blob || !this.attachment) return;
    const url = this.urls.create(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = this.attachment.name;
    a.rel = 'noopener';
    a.click();
    setTimeout(() => this.urls.revoke(url), 30_000);
  }

  override render() {
    const a = this.attachment;
    if (!a) return nothing;
    if (showsInline(a) && !this.error)
      return this.url
        ? html`<img src=${this.url} alt=${a.name} width=${a.width ?? nothing} height=${a.height ?? nothing} />`
        : html`<span class="placeholder" role="img" aria-label=${`Loading ${a.name}`}></span>`;
    return html`<span class="file">
        ${icon('attach')}<span class="name">${a.name}</span><span class="muted">${formatBytes(a.size)}</span>
        <button type="button" @click=${this.download} aria-label=${`Download ${a.name}`}>Download</button>
      </span>
      ${this.error ? html`<p class="error">${this.error}</p>` : nothing}`;
  }
}
