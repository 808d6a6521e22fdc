import { css } from 'lit';

export const styles = css`
  main {
    max-width: 30rem;
  }
  h1 {
    font-size: 1.4rem;
  }
  dl {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0.2rem 0.75rem;
  }
  dt {
    color: var(--tc-fg-muted);
  }
  dd {
    margin: 0;
  }
  .digits {
    font-family: var(--tc-mono);
    font-size: 1.05rem;
    line-height: 1.6;
  }
  .warning {
    background: var(--tc-warning-bg);
    color: var(--tc-warning-fg);
    padding: 0.5rem;
    border-radius: var(--tc-radius);
  }
  .buttons {
    display: flex;
    gap: 0.5rem;
    flex-wrap: wrap;
    margin-top: 1rem;
  }
  .digits .line {
    display: block;
  }
`;
