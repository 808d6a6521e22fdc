/** The blob messages: one valid fixture each, and one invalid case per field. */
import { equal, ok } from '../test/helpers/assert.ts';
import { clientMessage, MAX_BLOB_CHUNKS } from './messages.ts';
import { validate } from './validate.ts';

const file = 'A'.repeat(22);
const fixtures = {
  'blob.put': { type: 'blob.put', ref: 1, log: 'dm:a:b', file, index: 0, count: 2, data: 'AQID' },
  'blob.get': { type: 'blob.get', ref: 2, log: 'general', file, index: 1 },
} as const;

const invalid: Record<keyof typeof fixtures, Record<string, unknown[]>> = {
  'blob.put': {
    ref: [-1, '1', undefined],
    log: ['', 'a b', 'x'.repeat(129), 7],
    file: ['A'.repeat(21), 'A'.repeat(23), `${'A'.repeat(21)}+`, undefined],
    index: [-1, 1.5, MAX_BLOB_CHUNKS, '0', undefined],
    count: [0, MAX_BLOB_CHUNKS + 1, 2.5, undefined],
    data: ['', 'a=b', 'A'.repeat(65537), undefined],
    extra: [true],
  },
  'blob.get': {
    ref: [null],
    log: ['', 'dm:a b'],
    file: ['', 'A'.repeat(23)],
    index: [-1, MAX_BLOB_CHUNKS, null],
    extra: [0],
  },
};

describe('blob messages', () => {
  it('accept their fixtures', () => {
    for (const [type, fixture] of Object.entries(fixtures)) {
      const r = validate(clientMessage, fixture);
      ok(r.ok, `${type}: ${r.ok ? '' : r.error.message}`);
    }
  });

  it('reject each bad field with its path', () => {
    for (const [type, fields] of Object.entries(invalid)) {
      const fixture = fixtures[type as keyof typeof fixtures];
      for (const [field, values] of Object.entries(fields)) {
        for (const value of values) {
          const r = validate(clientMessage, { ...fixture, [field]: value });
          ok(!r.ok, `${type}.${field} = ${JSON.stringify(value)} accepted`);
          equal(r.error.path, field, `${type}.${field} = ${JSON.stringify(value)}`);
        }
      }
    }
  });
});
