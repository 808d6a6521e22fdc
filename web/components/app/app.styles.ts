import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    height: 100dvh;
    overflow: hidden;
    background: var(--tc-bg);
    color: var(--tc-fg);
  }
  .shell {
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto;
    height: 100%;
  }
  .nav {
    display: flex;
    min-height: 0;
    height: 100%;
    background: var(--tc-bg-raised);
  }
  tc-server-rail {
    width: 4.25rem;
    flex: none;
  }
  .side {
    display: flex;
    flex-direction: column;
    width: 15rem;
    min-height: 0;
    border-inline-end: 1px solid var(--tc-border);
  }
  tc-channel-list {
    flex: 1;
    min-height: 0;
  }
  main {
    display: flex;
    flex-direction: column;
    min-width: 0;
    min-height: 0;
  }
  .bar {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    padding: 0.4rem 0.75rem;
    border-bottom: 1px solid var(--tc-border);
    min-height: 3rem;
  }
  .bar h1 {
    font-size: 1.05rem;
    margin: 0;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .bar .topic {
    flex: 1;
    min-width: 0;
    font-size: 0.85rem;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .bar .end {
    margin-inline-start: auto;
  }
  tc-conversation {
    flex: 1;
    min-height: 0;
  }
  .members {
    width: 15rem;
    min-height: 0;
    border-inline-start: 1px solid var(--tc-border);
  }
  .members[hidden] {
    display: none;
  }
  .scrim {
    position: fixed;
    inset: 0;
    z-index: 15;
    border: none;
    border-radius: 0;
    background: var(--tc-scrim);
  }
  .narrow {
    grid-template-columns: minmax(0, 1fr);
  }
  .narrow .nav,
  .narrow .members {
    position: fixed;
    top: 0;
    bottom: 0;
    z-index: 20;
    max-width: 88vw;
    visibility: hidden;
    /* Hidden only once the slide-out ends; visible at once on opening, so focus can move in. */
    transition:
      transform 0.2s ease,
      visibility 0s linear 0.2s;
  }
  .narrow .nav {
    left: 0;
    transform: translateX(-100%);
  }
  .narrow .members {
    right: 0;
    width: 17rem;
    transform: translateX(100%);
  }
  .narrow .side {
    width: auto;
    flex: 1;
    min-width: 0;
  }
  .narrow.open-nav .nav,
  .narrow.open-members .members {
    transform: none;
    visibility: visible;
    transition: transform 0.2s ease;
  }
  @media (prefers-reduced-motion: reduce) {
    .narrow .nav,
    .narrow .members {
      transition: none;
    }
  }
  .alert {
    margin: 0;
    padding: 0.4rem 0.75rem;
  }
  dialog.settings {
    width: min(36rem, calc(100vw - 1rem));
  }
  .starting {
    padding: 2rem;
    text-align: center;
  }
`;
