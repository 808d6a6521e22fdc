/** A populated app for shell tests: two servers, channels, members, a conversation with history. */
import { ALL_PERMISSIONS, channel, FixtureApp, FixtureServer, keyOf, member, message } from './fixtures.ts';

export function populatedApp(permissions = ALL_PERMISSIONS) {
  const blue = new FixtureServer('blue', 'Blue Team', {
    permissions,
    channels: [
      channel('general', { order: 0, topic: 'Anything goes' }),
      channel('random', { order: 1 }),
      channel('lobby', { kind: 'voice', order: 2 }),
    ],
    members: [
      member('me', { roles: ['admin'] }),
      member('Alice', { tags: ['team'] }),
      member('Bob', { online: false, keyChanged: true }),
    ],
  });
  blue.unread.set({ random: 3 });
  const t0 = Date.UTC(2026, 10, 21, 9, 0);
  const general = blue.conversation('general');
  general.messages.set([
    message('Alice', 'Welcome to **Blue Team**!', { id: 'g1', at: t0 }),
    message('Bob', 'hi @me', { id: 'g2', at: t0 + 60_000, mentions: [keyOf('me')] }),
    message('me', 'hello both, see https://example.org', {
      id: 'g3',
      at: t0 + 120_000,
      author: keyOf('me'),
    }),
  ]);
  const red = new FixtureServer('red', 'Red');
  return { app: new FixtureApp([blue, red]), blue, red };
}
