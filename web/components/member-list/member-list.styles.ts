import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    height: 100%;
    overflow-y: auto;
    background: var(--tc-bg-raised);
    padding: 0.5rem 0.25rem;
  }
  h2 {
    font-size: 0.75rem;
    text-transform: uppercase;
    letter-spacing: 0.04em;
    color: var(--tc-fg-muted);
    margin: 0.75rem 0.5rem 0.25rem;
  }
  ul {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  .member {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    width: 100%;
    border: none;
    background: transparent;
    text-align: start;
    padding: 0.3rem 0.5rem;
  }
  .offline .member {
    color: var(--tc-fg-muted);
  }
  .avatar {
    flex: none;
    width: 2rem;
    height: 2rem;
    border-radius: 50%;
    display: grid;
    place-items: center;
    font-size: 0.8rem;
    font-weight: 700;
    background: var(--tc-bg-selected);
    color: var(--tc-fg);
  }
  .who {
    display: grid;
    min-width: 0;
    flex: 1;
  }
  .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .role,
  .tag {
    font-size: 0.75rem;
    color: var(--tc-fg-muted);
  }
  .tag {
    border: 1px solid var(--tc-border);
    border-radius: 999px;
    padding: 0 0.35rem;
    margin-inline-end: 0.2rem;
  }
  .warn {
    color: var(--tc-danger);
  }
  .filter {
    display: flex;
    gap: 0.4rem;
    align-items: center;
    padding: 0 0.5rem;
    font-size: 0.85rem;
  }
`;
