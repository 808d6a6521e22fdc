/** Small helpers for component tests: shadow-root queries, keys, focus across shadow roots. */
import type { LitElement } from 'lit';

/** The first match in `host`'s shadow root; throws with the selector when there is none. */
export function $<T extends HTMLElement = HTMLElement>(host: Element, selector: string): T {
  const found = host.shadowRoot?.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector} in <${host.localName}>`);
  return found;
}

/** Every match in `host`'s shadow root. */
export function $$<T extends HTMLElement = HTMLElement>(host: Element, selector: string): T[] {
  return [...(host.shadowRoot?.querySelectorAll<T>(selector) ?? [])];
}

/** A keydown (as the browser would dispatch it) on `target`. */
export function press(target: Element, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const event = new KeyboardEvent('keydown', {
    key,
    bubbles: true,
    composed: true,
    cancelable: true,
    ...init,
  });
  target.dispatchEvent(event);
  return event;
}

/** The focused element, looking inside shadow roots. */
export function deepActive(): Element | null {
  let el: Element | null = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el;
}

/** Waits for `el` (and optionally its children) to finish updating, plus a frame for layout. */
export async function settle(...els: (LitElement | null | undefined)[]): Promise<void> {
  for (const el of els) await el?.updateComplete;
  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
}

/** Waits until `test` holds (polling each frame), or fails after `ms`. */
export async function until(test: () => unknown, what: string, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!test()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => requestAnimationFrame(() => r(undefined)));
  }
}

/** Answers the open confirm dialog in `host` (the ConfirmController's). */
export async function answer(host: LitElement, yes: boolean, text?: string): Promise<void> {
  await host.updateComplete;
  const dialog = $<HTMLDialogElement>(host, 'dialog.tc-confirm');
  if (!dialog.open) throw new Error('the confirm dialog is not open');
  const input = dialog.querySelector('input');
  if (input && text !== undefined) input.value = text;
  if (yes) dialog.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
  else dialog.querySelector<HTMLButtonElement>('button[type=button]')!.click();
  await host.updateComplete;
}
