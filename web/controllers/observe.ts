/**
 * Re-renders a Lit host when an `Observable` of the view model changes. The source
 * is chosen by a function, evaluated before each update, so a component follows
 * whichever server or conversation its properties point at now; it subscribes
 * while connected and unsubscribes when the source changes or the host leaves the DOM.
 * (ObserveAllController over a list of at most one source, plus the current value.)
 */
import type { ReactiveControllerHost } from 'lit';
import type { Observable } from '../core/model.ts';
import { ObserveAllController } from './observe-all.ts';

export class ObserveController<T> {
  constructor(
    host: ReactiveControllerHost,
    private readonly select: () => Observable<T> | undefined,
  ) {
    new ObserveAllController(host, () => {
      const source = select();
      return source ? [source] : [];
    });
  }

  /** The current value, or undefined when there is no source. */
  get value(): T | undefined {
    return this.select()?.value;
  }
}
