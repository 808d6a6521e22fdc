import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { clientIp, DEFAULT_TRUSTED_PROXIES, makeProxyCheck, validProxyEntry } from './client-ip.ts';

const req = (remoteAddress: string, forwarded?: string | string[]) =>
  ({
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

describe('clientIp', () => {
  const byDefault = makeProxyCheck(DEFAULT_TRUSTED_PROXIES);

  it('takes the address the loopback proxy appended, by default', () => {
    assert.equal(clientIp(req('127.0.0.1', '203.0.113.7'), byDefault), '203.0.113.7');
    assert.equal(clientIp(req('::1', '2001:db8::5'), byDefault), '2001:db8::5');
    assert.equal(
      clientIp(req('::ffff:127.0.0.1', '198.51.100.2'), byDefault),
      '198.51.100.2',
      'dual-stack form',
    );
  });

  it('ignores what the client wrote before the proxy appended the real address', () => {
    assert.equal(
      clientIp(req('127.0.0.1', '10.9.9.9, 203.0.113.7'), byDefault),
      '203.0.113.7',
      'the leftmost entry is the client’s claim; the rightmost the proxy’s',
    );
  });

  it('walks back through a chain of trusted proxies', () => {
    const check = makeProxyCheck(['loopback', '192.0.2.10']);
    assert.equal(clientIp(req('127.0.0.1', '203.0.113.7, 192.0.2.10'), check), '203.0.113.7');
    assert.equal(
      clientIp(req('127.0.0.1', ['203.0.113.7', '192.0.2.10']), check),
      '203.0.113.7',
      'repeated headers',
    );
  });

  it('trusts no header from a peer that is not a proxy, and none with an empty list', () => {
    assert.equal(
      clientIp(req('203.0.113.9', '1.2.3.4'), byDefault),
      '203.0.113.9',
      'a direct client cannot claim an address',
    );
    assert.equal(clientIp(req('127.0.0.1', '1.2.3.4'), makeProxyCheck([])), '127.0.0.1');
  });

  it('keeps the proxy’s address when the header is missing or junk', () => {
    assert.equal(clientIp(req('127.0.0.1'), byDefault), '127.0.0.1');
    assert.equal(clientIp(req('127.0.0.1', 'not-an-ip'), byDefault), '127.0.0.1');
    assert.equal(
      clientIp(req('127.0.0.1', '203.0.113.7, junk'), byDefault),
      '127.0.0.1',
      'junk at the trusted end stops the walk',
    );
  });

  it('accepts loopback and IP addresses as list entries, nothing else', () => {
    assert.ok(validProxyEntry('loopback') && validProxyEntry('10.0.0.1') && validProxyEntry('fd00::1'));
    assert.ok(!validProxyEntry('proxy.example.org') && !validProxyEntry('10.0.0.0/8'));
  });
});
