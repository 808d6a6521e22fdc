/**
 * The design tokens (CSS custom properties) and the few shared rules every
 * component adopts. Tokens are set on `tc-app`'s host and inherit through shadow
 * roots; `theme` (light/dark/system) is a host attribute, the accent colour, font
 * scale and message colour are custom properties set through the CSSOM (never a
 * `style=` attribute: the CSP is `style-src 'self'`).
 */
import { css } from 'lit';

const light = css`
  --tc-bg: #ffffff;
  --tc-bg-sunken: #f1f3f5;
  --tc-bg-raised: #ffffff;
  --tc-bg-hover: #e9ecef;
  --tc-bg-selected: #dbe4ff;
  --tc-fg: #1f2328;
  --tc-fg-muted: #59636e;
  --tc-border: #c9d1d9;
  --tc-danger: #b3261e;
  --tc-success: #1e6b30;
  --tc-warning-bg: #fff4d6;
  --tc-warning-fg: #5c3c00;
  --tc-mention-bg: #fff1c2;
  --tc-code-bg: #eef1f4;
  --tc-scrim: rgb(0 0 0 / 0.4);
  --tc-badge-bg: #c92a2a;
  --tc-badge-fg: #ffffff;
  --tc-link: #1c46c2;
`;

const dark = css`
  --tc-bg: #1e1f22;
  --tc-bg-sunken: #17181a;
  --tc-bg-raised: #2b2d31;
  --tc-bg-hover: #35373c;
  --tc-bg-selected: #3d4270;
  --tc-fg: #f2f3f5;
  --tc-fg-muted: #b5bac1;
  --tc-border: #4e5058;
  --tc-danger: #ff8a80;
  --tc-success: #69db7c;
  --tc-warning-bg: #4a3a10;
  --tc-warning-fg: #ffe8a3;
  --tc-mention-bg: #4d4320;
  --tc-code-bg: #2b2d31;
  --tc-scrim: rgb(0 0 0 / 0.6);
  --tc-badge-bg: #ff8a80;
  --tc-badge-fg: #000000;
  --tc-link: #91a7ff;
`;

/** Adopted by `tc-app`: the palette for each theme plus defaults for the settings-driven tokens. */
export const themeTokens = css`
  :host {
    ${light}
    --tc-accent: #3b5bdb;
    --tc-on-accent: #ffffff;
    --tc-font-scale: 1;
    --tc-message-color: var(--tc-fg);
    --tc-radius: 6px;
    --tc-gap: 0.5rem;
    --tc-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --tc-mono: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace;
    color-scheme: light;
  }
  :host([theme='dark']) {
    ${dark}
    color-scheme: dark;
  }
  @media (prefers-color-scheme: dark) {
    :host([theme='system']) {
      ${dark}
      color-scheme: dark;
    }
  }
`;

/** Rules every component adopts: box sizing, buttons, focus ring, hidden text. */
export const base = css`
  :host {
    font-family: var(--tc-font);
    font-size: calc(1rem * var(--tc-font-scale, 1));
    color: var(--tc-fg);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  [hidden] {
    display: none !important;
  }
  button,
  input,
  select,
  textarea {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
    background: var(--tc-bg-raised);
    padding: 0.35rem 0.75rem;
    min-height: 2rem;
  }
  button:hover {
    background: var(--tc-bg-hover);
  }
  button.primary {
    background: var(--tc-accent);
    color: var(--tc-on-accent);
    border-color: var(--tc-accent);
  }
  button.danger {
    color: var(--tc-danger);
    border-color: var(--tc-danger);
  }
  button.icon {
    border: none;
    background: transparent;
    padding: 0.25rem;
    min-width: 2rem;
    line-height: 1;
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }
  input,
  select,
  textarea {
    background: var(--tc-bg);
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
    padding: 0.35rem 0.5rem;
  }
  :focus-visible {
    outline: 2px solid var(--tc-accent);
    outline-offset: 2px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .muted {
    color: var(--tc-fg-muted);
  }
  .error {
    color: var(--tc-danger);
  }
  .badge {
    display: inline-block;
    min-width: 1.25rem;
    padding: 0 0.35rem;
    border-radius: 999px;
    background: var(--tc-badge-bg);
    color: var(--tc-badge-fg);
    font-size: 0.75rem;
    line-height: 1.25rem;
    text-align: center;
    font-weight: 600;
  }
  svg.icon {
    width: 1em;
    height: 1em;
    vertical-align: -0.125em;
    fill: currentColor;
    flex: none;
  }
`;

/** The modal dialogs (`<dialog>`): confirm prompts, member panel, invites, settings. */
export const dialogStyles = css`
  dialog {
    border: 1px solid var(--tc-border);
    border-radius: calc(var(--tc-radius) * 2);
    background: var(--tc-bg-raised);
    color: var(--tc-fg);
    padding: 1rem;
    width: min(28rem, calc(100vw - 1rem));
    max-height: calc(100dvh - 2rem);
  }
  dialog::backdrop {
    background: var(--tc-scrim);
  }
  dialog h2 {
    margin: 0 0 0.75rem;
    font-size: 1.15rem;
  }
  .actions {
    display: flex;
    gap: var(--tc-gap);
    justify-content: flex-end;
    flex-wrap: wrap;
    margin-top: 1rem;
  }
  label.field {
    display: grid;
    gap: 0.25rem;
    margin-block: 0.5rem;
  }
`;

/** A page that is one centred card (join, welcome); each sets its own `main` max-width. */
export const cardPage = css`
  :host {
    display: grid;
    place-items: center;
    min-height: 100%;
    padding: 1rem;
  }
  main {
    width: 100%;
    background: var(--tc-bg-raised);
    border: 1px solid var(--tc-border);
    border-radius: calc(var(--tc-radius) * 2);
    padding: 1.25rem;
  }
  h1 {
    margin-top: 0;
  }
`;
