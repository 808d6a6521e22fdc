import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    margin-block: 0.25rem;
  }
  img {
    display: block;
    max-width: min(100%, 24rem);
    max-height: 20rem;
    height: auto;
    border-radius: var(--tc-radius);
    border: 1px solid var(--tc-border);
  }
  .file {
    display: inline-flex;
    align-items: center;
    gap: 0.5rem;
    padding: 0.4rem 0.6rem;
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
    background: var(--tc-bg-sunken);
    max-width: 100%;
  }
  .file .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .placeholder {
    display: block;
    width: min(100%, 16rem);
    height: 6rem;
    border-radius: var(--tc-radius);
    background: var(--tc-bg-sunken);
  }
`;
