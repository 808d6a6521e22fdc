import { css } from 'lit';

export const styles = css`
  :host {
    display: grid;
    place-items: center;
    min-height: 100%;
    padding: 1rem;
  }
  main {
    max-width: 32rem;
    width: 100%;
    background: var(--tc-bg-raised);
    border: 1px solid var(--tc-border);
    border-radius: calc(var(--tc-radius) * 2);
    padding: 1.25rem;
  }
  h1 {
    margin-top: 0;
  }
  form {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
  }
  form input {
    flex: 1 1 14rem;
  }
  .link-button {
    border: none;
    background: none;
    padding: 0;
    min-height: 0;
    color: var(--tc-link);
    text-decoration: underline;
  }
`;
