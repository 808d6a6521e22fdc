import { css } from 'lit';

export const styles = css`
  main {
    max-width: 32rem;
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
