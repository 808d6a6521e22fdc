import { css } from 'lit';

export const styles = css`
  :host {
    display: flex;
    flex-direction: column;
    min-height: 0;
    height: 100%;
  }
  tc-message-list {
    flex: 1;
    min-height: 0;
  }
`;
