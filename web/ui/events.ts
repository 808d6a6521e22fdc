/**
 * Dispatches one of tincan's custom events. Every `tc-…` event is declared once, in
 * the file of the component that dispatches it, as an entry of
 * `GlobalEventHandlersEventMap`, so listeners get typed `detail`s. Events bubble
 * and cross shadow roots (`composed`), like native UI events.
 */
declare global {
  interface GlobalEventHandlersEventMap {
    /** {key} show a member's panel (dispatched by the message list and the member list). */
    'tc-member-open': CustomEvent<{ key: string }>;
  }
}

type DetailOf<K extends keyof GlobalEventHandlersEventMap> =
  GlobalEventHandlersEventMap[K] extends CustomEvent<infer D> ? D : never;

export function emit<K extends keyof GlobalEventHandlersEventMap>(
  target: EventTarget,
  type: K,
  detail: DetailOf<K>,
): boolean {
  return target.dispatchEvent(
    new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: true }),
  );
}
