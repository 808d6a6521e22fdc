import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    height: 100%;
    background: var(--tc-bg-raised);
    overflow-y: auto;
  }
  header {
    display: flex;
    align-items: center;
    gap: 0.25rem;
    padding: 0.5rem 0.5rem 0.5rem 0.75rem;
    border-bottom: 1px solid var(--tc-border);
    position: sticky;
    top: 0;
    background: var(--tc-bg-raised);
  }
  h2 {
    flex: 1;
    margin: 0;
    font-size: 1rem;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  ul {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  ul ul {
    padding-inline-start: 0.9rem;
  }
  .tree {
    padding: 0.5rem 0.25rem;
  }
  .row {
    display: flex;
    align-items: center;
  }
  .channel {
    flex: 1;
    display: flex;
    align-items: center;
    gap: 0.4rem;
    border: none;
    background: transparent;
    text-align: start;
    color: var(--tc-fg-muted);
    min-width: 0;
  }
  .channel .name {
    flex: 1;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .channel.unread {
    color: var(--tc-fg);
    font-weight: 700;
  }
  .channel[aria-current='page'] {
    background: var(--tc-bg-selected);
    color: var(--tc-fg);
  }
  .voice-members {
    padding-inline-start: 2rem;
    font-size: 0.85rem;
    color: var(--tc-fg-muted);
  }
  form {
    display: grid;
    gap: 0.4rem;
    padding: 0.5rem;
    margin: 0.25rem;
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
  }
  form .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem;
  }
  .dms-title {
    margin: 1rem 0.75rem 0.25rem;
    font-size: 0.75rem;
    text-transform: uppercase;
    letter-spacing: 0.04em;
    color: var(--tc-fg-muted);
  }
  .dms {
    padding: 0 0.25rem;
  }
`;
