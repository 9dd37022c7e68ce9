import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type EscapedSlashes, normalizePath, type PathOptions } from '../../src/l7/path-normalize.js';
import { splitTarget } from '../../src/l7/route-table.js';

const REJECT: PathOptions = { escapedSlashes: 'reject', mergeSlashes: false };
const KEEP: PathOptions = { escapedSlashes: 'keep', mergeSlashes: false };
const DECODE: PathOptions = { escapedSlashes: 'decode', mergeSlashes: false };
const MERGE: PathOptions = { escapedSlashes: 'reject', mergeSlashes: true };

/** [input, options, expected (undefined: refused with 400)] */
const CASES: [string, PathOptions, string | undefined][] = [
  ['/', REJECT, '/'],
  ['/public/index.html', REJECT, '/public/index.html'],
  ['/public/', REJECT, '/public/'],
  ['/.well-known/x', REJECT, '/.well-known/x'],
  ['/a/.../b', REJECT, '/a/.../b'],
  ['/a/..b/c', REJECT, '/a/..b/c'],
  // RFC 3986 §5.4.2's abnormal examples, as absolute paths.
  ['/a/b/c/./../../g', REJECT, '/a/g'],
  ['/mid/content=5/../6', REJECT, '/mid/6'],
  ['/public/../admin/secret', REJECT, '/admin/secret'],
  ['/public/./admin', REJECT, '/public/admin'],
  ['/a/.', REJECT, '/a/'],
  ['/a/..', REJECT, '/'],
  ['/a/b/..', REJECT, '/a/'],
  ['/..', REJECT, '/'],
  ['/../../etc/passwd', REJECT, '/etc/passwd'],
  ['/.', REJECT, '/'],
  ['//..', REJECT, '/'],
  ['/a//../b', REJECT, '/a/b'],
  ['/a//b', REJECT, '/a//b'],
  // Percent-encodings: unreserved decoded, others upper-cased, broken ones refused.
  ['/public/%2e%2e/admin/secret', REJECT, '/admin/secret'],
  ['/public/%2E%2E/admin/secret', REJECT, '/admin/secret'],
  ['/public/.%2e/admin', REJECT, '/admin'],
  ['/%41%62%7e%2D%5f%30', REJECT, '/Ab~-_0'],
  ['/a%20b', REJECT, '/a%20b'],
  ['/a%3fb%c3%a9', REJECT, '/a%3Fb%C3%A9'],
  ['/a%25', REJECT, '/a%25'],
  ['/a%252e%252e/b', REJECT, '/a%252e%252e/b'],
  ['/a%', REJECT, undefined],
  ['/a%4', REJECT, undefined],
  ['/a%zz', REJECT, undefined],
  ['/a%%41', REJECT, undefined],
  // Encoded slashes and backslashes.
  ['/public/..%2fadmin/secret', REJECT, undefined],
  ['/public/..%2Fadmin/secret', REJECT, undefined],
  ['/public/..%5cadmin', REJECT, undefined],
  ['/public/..\\admin', REJECT, undefined],
  ['/public/..%2fadmin/secret', KEEP, '/public/..%2Fadmin/secret'],
  ['/public/..\\admin', KEEP, '/public/..\\admin'],
  ['/public/..%2fadmin/secret', DECODE, '/admin/secret'],
  ['/public/..%5Cadmin', DECODE, '/admin'],
  ['/public\\..\\admin', DECODE, '/admin'],
  // Merging slashes.
  ['//a///b/', MERGE, '/a/b/'],
  ['/a//..//b', MERGE, '/b'],
  ['//', MERGE, '/'],
];

describe('L7 path normalisation', () => {
  it('removes dot segments, decodes unreserved characters and refuses encoded slashes (table)', () => {
    for (const [input, options, expected] of CASES) {
      assert.equal(normalizePath(input, options), expected, `${input} (${JSON.stringify(options)})`);
    }
  });

  it('returns the very string it was given when there is nothing to do', () => {
    const path = ['/api', 'v1', 'users', '42'].join('/');
    assert.equal(normalizePath(path, REJECT), path);
  });

  it('normalises only the path, never the query', () => {
    assert.deepEqual(splitTarget('/public/../admin?next=/public/../x&y=%2e%2F', REJECT), {
      path: '/admin',
      query: '?next=/public/../x&y=%2e%2F',
    });
    assert.deepEqual(splitTarget('http://h.test/a/%2e%2e/b?c', REJECT), { path: '/b', query: '?c' });
    assert.equal(splitTarget('/a%2Fb?c', REJECT), undefined);
  });

  // Paths built from the pieces that matter: dots, slashes, escapes (valid and broken).
  const piece = fc.constantFrom(
    '/',
    '.',
    '..',
    'a',
    'B',
    '-',
    '~',
    '%2e',
    '%2E',
    '%2f',
    '%5C',
    '\\',
    '%41',
    '%3f',
    '%c3',
    '%25',
    '%',
    '%z',
    'é',
  );
  const path = fc.array(piece, { maxLength: 14 }).map((parts) => `/${parts.join('')}`);
  const options = fc.record({
    escapedSlashes: fc.constantFrom<EscapedSlashes>('reject', 'keep', 'decode'),
    mergeSlashes: fc.boolean(),
  });

  it('is idempotent and leaves no dot segment (property)', () => {
    fc.assert(
      fc.property(path, options, (input, opts) => {
        const once = normalizePath(input, opts);
        if (once === undefined) return;
        assert.equal(normalizePath(once, opts), once, `normalise(${JSON.stringify(once)}) changes it again`);
        assert.ok(once.startsWith('/'), once);
        const segments = once.split('/');
        assert.ok(!segments.includes('.') && !segments.includes('..'), `dot segment left in ${once}`);
        for (const [encoded] of once.matchAll(/%../g)) {
          assert.match(encoded, /^%[0-9A-F]{2}$/, `broken or lower-case escape left in ${once}`);
          const char = String.fromCharCode(Number.parseInt(encoded.slice(1), 16));
          assert.ok(!/[A-Za-z0-9._~-]/.test(char), `unreserved ${encoded} left encoded in ${once}`);
        }
        if (opts.mergeSlashes) assert.ok(!once.includes('//'), once);
        if (opts.escapedSlashes !== 'keep') assert.ok(!/%2F|%5C|\\/.test(once), once);
      }),
      { numRuns: 2000 },
    );
  });
});
