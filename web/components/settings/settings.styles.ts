import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
  }
  section {
    padding-block: 0.5rem;
    border-bottom: 1px solid var(--tc-border);
  }
  section:last-child {
    border-bottom: none;
  }
  h3 {
    font-size: 1rem;
    margin: 0.5rem 0;
  }
  fieldset {
    border: none;
    margin: 0;
    padding: 0;
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem 1rem;
  }
  legend {
    padding: 0;
    margin-bottom: 0.25rem;
  }
  label.field {
    display: grid;
    gap: 0.25rem;
    margin-block: 0.5rem;
  }
  label.check {
    display: flex;
    gap: 0.5rem;
    align-items: baseline;
    margin-block: 0.5rem;
  }
  input[type='color'] {
    width: 3rem;
    height: 2rem;
    padding: 0.1rem;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  textarea {
    width: 100%;
    font-family: var(--tc-mono);
    font-size: 0.8rem;
  }
  .download {
    color: var(--tc-link);
  }
`;
