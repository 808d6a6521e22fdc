import assert from 'node:assert/strict';
import { dtlsFingerprint } from './dtls-fingerprint.ts';

const hex = (byte: number): string =>
  Array.from({ length: 32 }, (_, i) => ((byte + i) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(
    ':',
  );
const A = hex(0x10);
const B = hex(0xa0);

/** A Chromium-shaped offer: the fingerprint sits in each m-section (CRLF line ends). */
const sdp = (...lines: string[]): string =>
  [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    ...lines,
    'a=setup:actpass',
    'a=mid:0',
    'a=sctp-port:5000',
    '',
  ].join('\r\n');

describe('dtlsFingerprint', () => {
  it('reads the sha-256 fingerprint as `sha-256 AB:…`', () => {
    assert.equal(dtlsFingerprint(sdp(`a=fingerprint:sha-256 ${A}`)), `sha-256 ${A}`);
  });

  it('normalises case of the hash name and the hex', () => {
    assert.equal(dtlsFingerprint(sdp(`a=fingerprint:SHA-256 ${A.toLowerCase()}`)), `sha-256 ${A}`);
  });

  it('accepts LF-only line ends and the same fingerprint repeated in several m-sections', () => {
    const two = `${sdp(`a=fingerprint:sha-256 ${A}`)}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 ${A}\r\n`;
    assert.equal(dtlsFingerprint(two), `sha-256 ${A}`);
    assert.equal(dtlsFingerprint(two.replace(/\r\n/g, '\n')), `sha-256 ${A}`);
  });

  it('picks sha-256 among other hash functions', () => {
    const sha1 = Array.from({ length: 20 }, () => 'AB').join(':');
    assert.equal(
      dtlsFingerprint(sdp(`a=fingerprint:sha-1 ${sha1}`, `a=fingerprint:sha-256 ${B}`)),
      `sha-256 ${B}`,
    );
  });

  it('gives nothing for two different sha-256 certificates (ambiguous)', () => {
    assert.equal(dtlsFingerprint(sdp(`a=fingerprint:sha-256 ${A}`, `a=fingerprint:sha-256 ${B}`)), undefined);
  });

  it('gives nothing without a sha-256 line, or with a malformed one', () => {
    assert.equal(dtlsFingerprint(sdp()), undefined);
    assert.equal(dtlsFingerprint(sdp(`a=fingerprint:sha-1 ${A}`)), undefined);
    for (const bad of [
      A.slice(3),
      `${A}:00`,
      A.replace(/:/g, ''),
      A.replace('1', 'G'),
      `${A.slice(0, -1)}`,
    ]) {
      assert.equal(dtlsFingerprint(sdp(`a=fingerprint:sha-256 ${bad}`)), undefined, `malformed ${bad}`);
    }
    assert.equal(dtlsFingerprint(''), undefined);
    assert.equal(dtlsFingerprint(undefined as unknown as string), undefined);
  });

  it('ignores a fingerprint-like text that is not an attribute line', () => {
    assert.equal(dtlsFingerprint(sdp(`a=x-note:a=fingerprint:sha-256 ${A}`)), undefined);
  });
});
