import { css } from 'lit';

export const styles = css`
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr));
    gap: 0 0.75rem;
  }
  .link {
    display: flex;
    gap: 0.4rem;
    margin-top: 0.75rem;
  }
  .link input {
    flex: 1;
    min-width: 0;
    font-family: var(--tc-mono);
  }
`;
