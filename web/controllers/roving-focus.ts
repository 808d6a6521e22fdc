/**
 * Roving tabindex (WAI-ARIA APG): a group of items is one Tab stop; the arrow keys,
 * Home and End move focus inside it. The host binds `keydown` and `focusin` on the
 * element that contains the items and renders; the controller keeps exactly one
 * item at `tabindex=0` after every update.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export interface RovingOptions {
  /** The items in order, each focusable. */
  items: () => HTMLElement[];
  /** The item to start from when focus has not been inside yet (the selected one). */
  preferred?: () => HTMLElement | null | undefined;
  /** Keys that move: vertical (Up/Down, default) or horizontal (Left/Right). */
  orientation?: 'vertical' | 'horizontal';
}

export class RovingFocusController implements ReactiveController {
  private current: HTMLElement | undefined;

  constructor(
    host: ReactiveControllerHost,
    private readonly options: RovingOptions,
  ) {
    host.addController(this);
  }

  hostUpdated(): void {
    this.sync();
  }

  /** Makes `item` the group's Tab stop (without focusing it). */
  setCurrent(item: HTMLElement | undefined): void {
    this.current = item;
    this.sync();
  }

  /** Focuses the group's Tab stop; returns false when the group is empty. */
  focus(): boolean {
    this.sync();
    this.current?.focus();
    return this.current !== undefined;
  }

  private sync(): void {
    const items = this.options.items();
    if (!this.current || !items.includes(this.current)) this.current = this.options.preferred?.() ?? items[0];
    for (const item of items) item.tabIndex = item === this.current ? 0 : -1;
  }

  private indexOf(items: HTMLElement[], event: Event): number {
    for (const node of event.composedPath()) {
      const index = items.indexOf(node as HTMLElement);
      if (index !== -1) return index;
    }
    return -1;
  }

  readonly onKeydown = (event: KeyboardEvent): void => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.defaultPrevented) return;
    const items = this.options.items();
    const at = this.indexOf(items, event);
    if (at === -1) return;
    const [back, forward] =
      this.options.orientation === 'horizontal' ? ['ArrowLeft', 'ArrowRight'] : ['ArrowUp', 'ArrowDown'];
    let next: number;
    if (event.key === back) next = Math.max(0, at - 1);
    else if (event.key === forward) next = Math.min(items.length - 1, at + 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = items.length - 1;
    else return;
    event.preventDefault();
    this.setCurrent(items[next]);
    this.current?.focus();
  };

  readonly onFocusin = (event: FocusEvent): void => {
    const items = this.options.items();
    const at = this.indexOf(items, event);
    if (at !== -1 && items[at] !== this.current) this.setCurrent(items[at]);
  };
}
