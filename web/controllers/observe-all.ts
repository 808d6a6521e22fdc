/**
 * Like ObserveController, for a changing list of observables (every server's unread
 * counts in the rail): re-renders the host when any of them changes, and follows
 * the list as it grows or shrinks.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Observable, Unsubscribe } from '../core/model.ts';

export class ObserveAllController implements ReactiveController {
  private readonly subscriptions = new Map<Observable<unknown>, Unsubscribe>();
  private connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly select: () => readonly Observable<unknown>[],
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    this.bind();
  }

  hostUpdate(): void {
    this.bind();
  }

  hostDisconnected(): void {
    this.connected = false;
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  private bind(): void {
    if (!this.connected) return;
    const wanted = new Set(this.select());
    for (const [source, unsubscribe] of this.subscriptions)
      if (!wanted.has(source)) {
        unsubscribe();
        this.subscriptions.delete(source);
      }
    for (const source of wanted) {
      if (this.subscriptions.has(source)) continue;
      let binding = true;
      this.subscriptions.set(
        source,
        source.subscribe(() => {
          if (!binding) this.host.requestUpdate();
        }),
      );
      binding = false;
    }
  }
}
