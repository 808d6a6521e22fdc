import { css } from 'lit';

export const styles = css`
  :host {
    display: flex;
    flex-direction: column;
    min-height: 0;
    height: 100%;
  }
  .scroller {
    flex: 1;
    min-height: 0;
    overflow-y: auto;
    overflow-anchor: none;
    padding: 0.5rem 0;
  }
  .older,
  .newest {
    display: block;
    margin: 0.5rem auto;
  }
  .newest {
    position: sticky;
    bottom: 0.5rem;
  }
  .start {
    text-align: center;
    margin: 1rem;
  }
  article {
    position: relative;
    padding: 0.15rem 0.75rem 0.15rem 1rem;
    overflow-wrap: anywhere;
  }
  article:not(.continued) {
    margin-top: 0.6rem;
  }
  article:hover,
  article:focus-within {
    background: var(--tc-bg-hover);
  }
  article.mentioned {
    background: var(--tc-mention-bg);
    border-inline-start: 3px solid var(--tc-accent);
  }
  article.pending .body {
    opacity: 0.75;
  }
  header {
    display: flex;
    align-items: baseline;
    gap: 0.5rem;
  }
  .author {
    border: none;
    background: none;
    padding: 0;
    min-height: 0;
    font-weight: 700;
  }
  time,
  .edited,
  .queued,
  .quote {
    color: var(--tc-fg-muted);
    font-size: 0.8rem;
  }
  .quote {
    margin: 0;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .body {
    color: var(--tc-message-color);
    line-height: 1.4;
  }
  .body p,
  .body ul,
  .body ol,
  .body pre,
  .body blockquote {
    margin: 0.15rem 0;
  }
  .body blockquote {
    border-inline-start: 3px solid var(--tc-border);
    padding-inline-start: 0.6rem;
  }
  .body code {
    font-family: var(--tc-mono);
    background: var(--tc-code-bg);
    border-radius: 3px;
    padding: 0 0.2rem;
  }
  .body pre {
    background: var(--tc-code-bg);
    padding: 0.5rem;
    border-radius: var(--tc-radius);
    overflow-x: auto;
  }
  .body a {
    color: var(--tc-link);
  }
  .mention {
    background: var(--tc-bg-selected);
    border-radius: 3px;
    padding: 0 0.15rem;
    font-weight: 600;
  }
  .deleted {
    margin: 0;
    font-style: italic;
    color: var(--tc-fg-muted);
  }
  .reactions,
  .picker {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem;
    margin-top: 0.25rem;
  }
  .reaction {
    padding: 0 0.4rem;
    min-height: 1.6rem;
    border-radius: 999px;
  }
  .reaction[aria-pressed='true'] {
    border-color: var(--tc-link);
    background: var(--tc-bg-selected);
  }
  .actions {
    position: absolute;
    top: -0.6rem;
    right: 0.75rem;
    display: flex;
    background: var(--tc-bg-raised);
    border: 1px solid var(--tc-border);
    border-radius: var(--tc-radius);
    opacity: 0;
  }
  article:hover .actions,
  article:focus-within .actions {
    opacity: 1;
  }
  @media (hover: none) {
    .actions {
      position: static;
      opacity: 1;
      border: none;
      background: none;
    }
  }
  .editor textarea {
    width: 100%;
  }
  .typing {
    min-height: 1.4rem;
    padding: 0 1rem;
    font-size: 0.85rem;
    color: var(--tc-fg-muted);
  }
`;
