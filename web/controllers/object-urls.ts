/**
 * Object URLs for decrypted blobs (attachments, backup downloads), owned by one
 * host: every URL made here is revoked when the host leaves the DOM, so decrypted
 * bytes do not outlive the view that showed them.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ObjectUrlController implements ReactiveController {
  private readonly urls = new Set<string>();

  constructor(host: ReactiveControllerHost) {
    host.addController(this);
  }

  create(blob: Blob): string {
    const url = URL.createObjectURL(blob);
    this.urls.add(url);
    return url;
  }

  revoke(url: string): void {
    if (this.urls.delete(url)) URL.revokeObjectURL(url);
  }

  /** How many URLs are live (for tests and leak checks). */
  get size(): number {
    return this.urls.size;
  }

  hostDisconnected(): void {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}
