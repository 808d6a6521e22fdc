import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    background: var(--tc-bg-raised);
    border-bottom: 1px solid var(--tc-border);
    padding: 0.5rem 0.75rem;
  }
  :host([compact]) {
    border-bottom: none;
    border-top: 1px solid var(--tc-border);
    padding: 0.4rem 0.5rem;
  }
  .status {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    flex-wrap: wrap;
    font-size: 0.875rem;
  }
  .status .state {
    font-weight: 600;
  }
  .joined .state {
    color: var(--tc-success);
  }
  .problem {
    color: var(--tc-danger);
    font-size: 0.875rem;
  }
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 0.35rem;
    margin: 0.4rem 0;
  }
  button[aria-pressed='true'] {
    background: var(--tc-danger);
    color: #fff;
    border-color: var(--tc-danger);
  }
  button.share[aria-pressed='true'] {
    background: var(--tc-accent);
    color: var(--tc-on-accent);
    border-color: var(--tc-accent);
  }
  meter {
    width: 8rem;
    height: 0.6rem;
  }
  ul.participants {
    list-style: none;
    margin: 0.25rem 0;
    padding: 0;
    display: grid;
    gap: 0.3rem;
  }
  .participant {
    display: grid;
    grid-template-columns: auto 1fr auto;
    align-items: center;
    gap: 0.25rem 0.5rem;
    padding: 0.25rem 0.4rem;
    border-radius: var(--tc-radius);
    border: 2px solid transparent;
  }
  .participant.speaking {
    border-color: var(--tc-success);
  }
  .participant .name {
    font-weight: 600;
  }
  .participant .route {
    grid-column: 1 / -1;
    font-size: 0.75rem;
    color: var(--tc-fg-muted);
  }
  .participant label {
    display: flex;
    align-items: center;
    gap: 0.3rem;
    font-size: 0.8rem;
  }
  .participant input[type='range'] {
    width: 7rem;
  }
  details {
    margin-top: 0.25rem;
    font-size: 0.875rem;
  }
  details label {
    display: flex;
    align-items: center;
    gap: 0.4rem;
    margin: 0.25rem 0;
    flex-wrap: wrap;
  }
  .note {
    color: var(--tc-fg-muted);
    font-size: 0.75rem;
  }
  .tiles {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
    gap: 0.5rem;
    margin: 0.5rem 0;
  }
  .tile {
    position: relative;
    background: #000;
    border-radius: var(--tc-radius);
    overflow: hidden;
    padding: 0;
    border: none;
    min-height: 0;
  }
  .tile video {
    display: block;
    width: 100%;
    max-height: 16rem;
    object-fit: contain;
  }
  .tile.enlarged {
    grid-column: 1 / -1;
  }
  .tile.enlarged video {
    max-height: 70vh;
  }
  .tile .caption {
    position: absolute;
    left: 0.3rem;
    bottom: 0.3rem;
    background: rgb(0 0 0 / 60%);
    color: #fff;
    font-size: 0.75rem;
    padding: 0.1rem 0.35rem;
    border-radius: 4px;
  }
  @media (max-width: 30rem) {
    .participant {
      grid-template-columns: 1fr;
    }
  }
`;
