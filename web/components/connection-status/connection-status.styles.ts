import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
  }
  .banner {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: var(--tc-gap);
    padding: 0.4rem 0.75rem;
    background: var(--tc-warning-bg);
    color: var(--tc-warning-fg);
    border-bottom: 1px solid var(--tc-border);
  }
  .banner.offline {
    font-weight: 600;
  }
  .banner button {
    margin-inline-start: auto;
    color: var(--tc-fg);
  }
`;
