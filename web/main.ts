/**
 * Entry of the web client bundle (built by web/build.ts into dist/app.js): opens
 * this browser's identity store and caches (IndexedDB), loads the client core and
 * hands it to `<tc-app>`. A failure to start is shown, never a blank page.
 */

import { BrowserIdentityStore } from './browser/identity-store.ts';
import { IndexedDbCache, lazyCache } from './browser/local-cache.ts';
import type { BinarySocket } from './net/relay-client.ts';
import './components/app/app.component.ts';
import { App } from './core/app.ts';
import { joinMesh } from './net/mesh.ts';
import type { SocketLike } from './net/signal-client.ts';
import { VoiceSession } from './voice/voice-session.ts';

const shell = document.querySelector('tc-app');
if (shell) {
  // The CSP allows no inline styles; the CSSOM is fine.
  document.body.style.margin = '0';
  try {
    const identities = await BrowserIdentityStore.open();
    const storage = await IndexedDbCache.open('tincan-app');
    shell.app = await App.load({
      // SocketLike's `(event: never) => void` listener type is narrower than the DOM's
      // overloads; the browser WebSocket does fit at runtime (as test/e2e/fixtures/mesh-page.ts casts too).
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
      identities,
      storage,
      cacheFor: (slot) => lazyCache(`tincan-cache-${slot}`),
      mesh: joinMesh,
      voice: { join: joinMesh, engine: () => new VoiceSession() },
      relay: {
        socket: (url) => new WebSocket(url) as unknown as BinarySocket,
        peerConnection: (config) => new RTCPeerConnection(config),
      },
    });
  } catch (error) {
    shell.startError = error instanceof Error ? error.message : String(error);
  }
}
