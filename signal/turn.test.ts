import assert from 'node:assert/strict';
import { mintTurnCredentials, turnPassword } from './turn.ts';

describe('TURN REST credentials', () => {
  it('computes base64 HMAC-SHA1 of the username (known answer)', () => {
    // openssl: printf '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
    assert.equal(turnPassword('secret', '1700000000:alice'), 'd8soP47RbdIKLDUOpnJPVQyq5Ts=');
  });

  it('mints expiry:user usernames and splits STUN from TURN urls', () => {
    const creds = mintTurnCredentials(
      {
        secret: 's3cret',
        urls: ['stun:example.org:3478', 'turn:example.org:3478?transport=udp'],
        ttlSeconds: 600,
      },
      'USER',
      1_700_000_000_500,
    );
    assert.equal(creds.expiresAt, 1_700_000_600);
    assert.deepEqual(creds.iceServers[0], { urls: ['stun:example.org:3478'] });
    const turn = creds.iceServers[1]!;
    assert.equal(turn.username, '1700000600:USER');
    assert.equal(turn.credential, turnPassword('s3cret', '1700000600:USER'));
  });
});
