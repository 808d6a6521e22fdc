/**
 * The one observable value of the client core: holds a value, tells listeners
 * when it changes. Implements the view model's `Observable<T>`.
 */
import type { Observable, Unsubscribe } from './model.ts';

export class Value<T> implements Observable<T> {
  private current: T;
  private readonly listeners = new Set<(value: T) => void>();

  constructor(initial: T) {
    this.current = initial;
  }

  get value(): T {
    return this.current;
  }

  /** Replaces the value and notifies (skipped when `equal` says nothing changed). */
  set(value: T, equal: (a: T, b: T) => boolean = Object.is): void {
    if (equal(this.current, value)) return;
    this.current = value;
    for (const listener of [...this.listeners]) listener(value);
  }

  subscribe(listener: (value: T) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

/** Resolves once `observable` holds a value that passes `test` (tests and flows that wait for state). */
export function until<T>(observable: Observable<T>, test: (value: T) => boolean, ms = 5000): Promise<T> {
  if (test(observable.value)) return Promise.resolve(observable.value);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`state not reached within ${ms} ms`));
    }, ms);
    const off = observable.subscribe((value) => {
      if (!test(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}
