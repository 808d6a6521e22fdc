import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    padding: 0 0.75rem 0.75rem;
  }
  :host(.dragging) form {
    outline: 2px dashed var(--tc-accent);
  }
  .bar,
  .files,
  .note {
    display: flex;
    align-items: center;
    gap: 0.4rem;
    flex-wrap: wrap;
    font-size: 0.85rem;
    padding: 0.25rem 0.5rem;
  }
  .bar {
    background: var(--tc-bg-sunken);
    border-radius: var(--tc-radius) var(--tc-radius) 0 0;
  }
  .bar .text {
    flex: 1;
    min-width: 0;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .note {
    background: var(--tc-warning-bg);
    color: var(--tc-warning-fg);
    border-radius: var(--tc-radius);
  }
  .chip {
    display: inline-flex;
    align-items: center;
    gap: 0.25rem;
    border: 1px solid var(--tc-border);
    border-radius: 999px;
    padding: 0 0 0 0.6rem;
  }
  form {
    display: flex;
    align-items: flex-end;
    gap: 0.4rem;
    background: var(--tc-bg-raised);
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
    padding: 0.3rem;
  }
  textarea {
    flex: 1;
    min-width: 0;
    resize: none;
    border: none;
    background: transparent;
    max-height: 12rem;
    field-sizing: content;
    min-height: 2rem;
  }
  textarea:focus-visible {
    outline: none;
  }
  form:focus-within {
    border-color: var(--tc-accent);
  }
`;
