import { css } from 'lit';

export const styles = css`
  .roles {
    color: var(--tc-fg-muted);
    margin: 0 0 0.75rem;
  }
  .warning {
    display: flex;
    gap: 0.5rem;
    padding: 0.5rem;
    border-radius: var(--tc-radius);
    background: var(--tc-warning-bg);
    color: var(--tc-warning-fg);
  }
  h3 {
    font-size: 0.9rem;
    margin: 1rem 0 0.25rem;
  }
  .digits {
    font-family: var(--tc-mono);
    font-size: 1.05rem;
    letter-spacing: 0.05em;
    margin: 0;
    line-height: 1.6;
  }
  .tags,
  .move {
    display: flex;
    gap: 0.4rem;
  }
  .move {
    margin-top: 0.75rem;
    align-items: center;
    flex-wrap: wrap;
  }
  .tags input {
    flex: 1;
    min-width: 0;
  }
  .digits .line {
    display: block;
  }
`;
