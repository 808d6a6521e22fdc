/** Entry of the web client bundle (built by web/build.ts into dist/app.js). */
const app = document.querySelector('tc-app');
if (app && !app.shadowRoot) {
  const root = app.attachShadow({ mode: 'open' });
  root.innerHTML = '<main><h1>tincan</h1><p>Open an invite link to join a server.</p></main>';
}
