/**
 * Re-renders a Lit host when an `Observable` of the view model changes. The source
 * is chosen by a function, evaluated before each update, so a component follows
 * whichever server or conversation its properties point at now; it subscribes
 * while connected and unsubscribes when the source changes or the host leaves the DOM.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Observable, Unsubscribe } from '../core/model.ts';

export class ObserveController<T> implements ReactiveController {
  private source: Observable<T> | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private connected = false;
  private binding = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly select: () => Observable<T> | undefined,
  ) {
    host.addController(this);
  }

  /** The current value, or undefined when there is no source. */
  get value(): T | undefined {
    return this.select()?.value;
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
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.source = undefined;
  }

  private bind(): void {
    if (!this.connected) return;
    const next = this.select();
    if (next === this.source) return;
    this.unsubscribe?.();
    this.source = next;
    // Sources that call back at once with the current value need no extra update.
    this.binding = true;
    this.unsubscribe = next?.subscribe(() => {
      if (!this.binding) this.host.requestUpdate();
    });
    this.binding = false;
  }
}
