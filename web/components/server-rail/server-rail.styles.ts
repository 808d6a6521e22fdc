import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    height: 100%;
    background: var(--tc-bg-sunken);
  }
  nav {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 0.5rem;
    padding: 0.5rem 0;
    height: 100%;
    overflow-y: auto;
  }
  ul {
    list-style: none;
    margin: 0;
    padding: 0;
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
  }
  li {
    position: relative;
  }
  li.drop-target::before {
    content: '';
    position: absolute;
    inset: -0.3rem 0 auto;
    border-top: 3px solid var(--tc-accent);
  }
  .server,
  .round {
    width: 3rem;
    height: 3rem;
    border-radius: 50%;
    padding: 0;
    font-weight: 700;
    position: relative;
    background: var(--tc-bg-raised);
  }
  .server[aria-current='page'] {
    border-radius: 30%;
    background: var(--tc-accent);
    color: var(--tc-on-accent);
  }
  .server .badge {
    position: absolute;
    right: -0.3rem;
    bottom: -0.3rem;
  }
  .server.trouble::after {
    content: '';
    position: absolute;
    top: 0;
    right: 0;
    width: 0.7rem;
    height: 0.7rem;
    border-radius: 50%;
    background: var(--tc-warning-fg);
    border: 2px solid var(--tc-bg-sunken);
  }
  [role='menu'] {
    position: absolute;
    z-index: 5;
    left: 3.4rem;
    top: 0;
    display: flex;
    flex-direction: column;
    min-width: 10rem;
    padding: 0.25rem;
    background: var(--tc-bg-raised);
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
  }
  [role='menuitem'] {
    border: none;
    text-align: start;
    background: transparent;
  }
  form.add {
    display: grid;
    gap: 0.4rem;
    padding: 0 0.4rem;
    width: 100%;
  }
  form.add input {
    width: 100%;
    min-width: 0;
  }
  .spacer {
    flex: 1;
  }
`;
