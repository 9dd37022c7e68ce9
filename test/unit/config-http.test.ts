import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

const EXAMPLE = readFileSync(join(import.meta.dirname, '..', '..', 'config', 'http-example.yaml'), 'utf8');

function problemsOf(yaml: string): string[] {
  return loadConfigText(yaml, 'f.yaml').problems.map(formatProblem);
}

const CLUSTERS = `clusters:
  - { name: api, endpoints: [127.0.0.1:9001] }
  - { name: web, endpoints: [127.0.0.1:9101] }
`;

function http(routes: string, extra = ''): string {
  return `listeners:
  - name: web
    address: 127.0.0.1:8080
    protocol: http
${extra}    routes:
${routes}
${CLUSTERS}`;
}

describe('config: http listeners', () => {
  it("loads the issue's example as written, with defaults", () => {
    const { config, problems } = loadConfigText(EXAMPLE, 'http-example.yaml');
    assert.deepEqual(problems, []);
    const listener = config!.listeners[0]!;
    assert.equal(listener.protocol, 'http');
    if (listener.protocol !== 'http') return;
    assert.equal(listener.routes.length, 4);
    assert.deepEqual(listener.routes[0]!.retries, {
      attempts: 2,
      on: ['connect-failure', 'reset', 502, 503, 504],
      bufferLimit: 65536,
    });
    assert.equal(listener.routes[0]!.timeout, '5s');
    assert.equal(listener.routes[3]!.timeout, '15s');
    assert.deepEqual(listener.routes[2]!.requestHeaders, {
      set: { 'x-served-by': 'portside' },
      remove: ['cookie'],
    });
    assert.equal(listener.limits.headersTimeout, '10s');
    assert.equal(listener.upstream.maxConnectionsPerEndpoint, 128);
  });

  it('prints an effective config that loads back to the same config', () => {
    const { config } = loadConfigText(EXAMPLE, 'http-example.yaml');
    const printed = stringify(config);
    assert.doesNotMatch(printed, /[&*]a\d/, 'no YAML anchors from shared default objects');
    assert.deepEqual(loadConfigText(printed, 'printed.yaml').config, config);
  });

  it('keeps tcp the default protocol and rejects unknown ones', () => {
    assert.deepEqual(
      problemsOf(`listeners:\n  - { name: a, address: 1, protocol: sctp, cluster: api }\n${CLUSTERS}`),
      ['f.yaml:2:38 listeners[0].protocol: protocol must be "tcp" (the default), "http", "udp" or "tls"'],
    );
  });

  it('explains a tcp-style cluster on an http listener, and routes on a tcp one', () => {
    const onHttp = problemsOf(
      `listeners:\n  - name: a\n    address: 1\n    protocol: http\n    cluster: api\n${CLUSTERS}`,
    );
    assert.ok(
      onHttp.some((p) => p.includes('f.yaml:5:14 listeners[0].cluster: an http listener sends requests')),
      onHttp.join('\n'),
    );
    const onTcp = problemsOf(`listeners:\n  - name: a\n    address: 1\n    routes: []\n${CLUSTERS}`);
    assert.ok(
      onTcp.some((p) => p.includes('protocol: http')),
      onTcp.join('\n'),
    );
  });

  it('reports unknown clusters in routes and weighted clusters with file:line:col', () => {
    const problems = problemsOf(
      http(`      - match: { pathPrefix: /a }
        cluster: apii
      - match: { pathPrefix: /b }
        weightedClusters: [ { cluster: web, weight: 1 }, { cluster: nope, weight: 1 } ]`),
    );
    assert.deepEqual(problems, [
      'f.yaml:7:18 listeners[0].routes[0].cluster: unknown cluster "apii" (did you mean "api"?)',
      'f.yaml:9:69 listeners[0].routes[1].weightedClusters[1].cluster: unknown cluster "nope"',
    ]);
  });

  it('names routes, each name once per listener', () => {
    const problems = problemsOf(
      http(`      - name: users
        match: { pathPrefix: /a }
        cluster: api
      - name: users
        match: { pathPrefix: /b }
        cluster: api`),
    );
    assert.deepEqual(problems, [
      'f.yaml:9:15 listeners[0].routes[1].name: duplicate route name "users" (first at routes[0])',
    ]);
  });

  it('catches route mistakes: no target, two targets, two path kinds, bad regex, rewrite without prefix', () => {
    const problems = problemsOf(
      http(`      - match: { pathPrefix: /a }
      - match: { pathPrefix: /b }
        cluster: api
        weightedClusters: [ { cluster: web, weight: 1 } ]
      - match: { path: /c, pathPrefix: /c }
        cluster: api
      - match: { pathRegex: "/d(" }
        cluster: api
      - match: { host: api.example.com }
        cluster: api
        rewrite: { pathPrefix: / }
      - match: { methods: [] }
        cluster: api`),
    );
    const text = problems.join('\n');
    assert.match(
      text,
      /f\.yaml:6:9 listeners\[0\]\.routes\[0\]: a route needs exactly one of "cluster" or "weightedClusters"/,
    );
    assert.match(
      text,
      /f\.yaml:9:27 listeners\[0\]\.routes\[1\]\.weightedClusters: a route needs exactly one/,
    );
    assert.match(
      text,
      /f\.yaml:10:16 listeners\[0\]\.routes\[2\]\.match: use only one of "path", "pathPrefix" and "pathRegex"/,
    );
    assert.match(
      text,
      /f\.yaml:12:29 listeners\[0\]\.routes\[3\]\.match\.pathRegex: missing closing \): `\/d\(` \(route regexes use RE2 syntax, matched in linear time\)/,
    );
    assert.match(
      text,
      /f\.yaml:16:32 listeners\[0\]\.routes\[4\]\.rewrite\.pathPrefix: rewrite\.pathPrefix replaces the matched prefix/,
    );
    assert.match(text, /f\.yaml:17:27 listeners\[0\]\.routes\[5\]\.match\.methods: list at least one method/);
  });

  it('checks values: paths, hosts, header names, durations, retry conditions, unknown keys', () => {
    const problems = problemsOf(
      http(`      - match: { pathPrefix: v1, host: "http://x", headers: { "bad name": "1" } }
        cluster: api
        timeout: 5
        retries: { attempts: 2, on: [reset, 200, sometimes] }
        colour: blue
      - match: {}
        cluster: api
        requestHeaders: { set: { host: a, transfer-encoding: chunked } }`),
    );
    const text = problems.join('\n');
    assert.match(text, /routes\[0\]\.match\.pathPrefix: paths start with "\/"/);
    assert.match(text, /routes\[0\]\.match\.host: a host is a name like/);
    assert.match(text, /routes\[0\]\.match\.headers\.bad name: not a valid HTTP header name/);
    assert.match(text, /routes\[0\]\.timeout: expected a duration with a unit/);
    assert.match(text, /routes\[0\]\.retries\.on\[1\]: retry status codes are 400-599/);
    assert.match(text, /routes\[0\]\.retries\.on\[2\]: a retry condition is/);
    assert.match(text, /f\.yaml:10:9 listeners\[0\]\.routes\[0\]\.colour: unknown field "colour"/);
    assert.match(text, /routes\[1\]\.requestHeaders\.set\.host: set the Host header with rewrite\.host/);
    assert.match(
      text,
      /routes\[1\]\.requestHeaders\.set\.transfer-encoding: "transfer-encoding" is managed by the proxy/,
    );
  });

  it('refuses config values that would inject into a request head: rewrite.host, edits, paths', () => {
    const problems = problemsOf(
      http(`      - match: {}
        cluster: api
        rewrite: { host: "api.internal\\r\\nx-injected: 1" }
      - match: {}
        cluster: api
        rewrite: { host: "a b" }
      - match: { pathPrefix: /a }
        cluster: api
        rewrite: { pathPrefix: "/b\\0" }
        requestHeaders: { set: { x-a: "1\\u0001" } }
        responseHeaders: { set: { x-b: "1\\r\\nset-cookie: a=b" } }`),
    );
    const text = problems.join('\n');
    assert.match(
      text,
      /f\.yaml:8:26 listeners\[0\]\.routes\[0\]\.rewrite\.host: a Host header value is host\[:port\]/,
    );
    assert.match(text, /listeners\[0\]\.routes\[1\]\.rewrite\.host: a Host header value is host\[:port\]/);
    assert.match(text, /routes\[2\]\.rewrite\.pathPrefix: a path has no control characters/);
    assert.match(text, /routes\[2\]\.requestHeaders\.set\.x-a: header values cannot contain CR, LF, NUL/);
    assert.match(text, /routes\[2\]\.responseHeaders\.set\.x-b: header values cannot contain CR, LF, NUL/);
    for (const host of ['api.internal', 'api.internal:8080', '10.0.0.1:80', '[::1]:8080']) {
      assert.deepEqual(
        problemsOf(http(`      - match: {}\n        cluster: api\n        rewrite: { host: "${host}" }`)),
        [],
        host,
      );
    }
  });

  it('takes only RE2 route regexes, and says why a backtracking construct is refused', () => {
    const problems = problemsOf(
      http(`      - match: { pathRegex: "/a(?=b)" }
        cluster: api
      - match: { pathRegex: "/a(?!b)" }
        cluster: api
      - match: { pathRegex: "(?<=x)/a" }
        cluster: api
      - match: { pathRegex: "/(a)\\\\1" }
        cluster: api
      - match: { pathRegex: "/files/(a+)+b" }
        cluster: api
      - match: { pathRegex: "(?i)/Users/[0-9]+" }
        cluster: api`),
    );
    assert.deepEqual(problems, [
      'f.yaml:6:29 listeners[0].routes[0].match.pathRegex: lookahead is not supported: route regexes use RE2 syntax, matched in linear time',
      'f.yaml:8:29 listeners[0].routes[1].match.pathRegex: lookahead is not supported: route regexes use RE2 syntax, matched in linear time',
      'f.yaml:10:29 listeners[0].routes[2].match.pathRegex: lookbehind is not supported: route regexes use RE2 syntax, matched in linear time',
      'f.yaml:12:29 listeners[0].routes[3].match.pathRegex: backreferences are not supported: route regexes use RE2 syntax, matched in linear time',
    ]);
  });

  it('takes path normalisation settings and refuses route paths that requests can never have', () => {
    const { config, problems } = loadConfigText(
      http(
        `      - match: { pathPrefix: /a }
        cluster: api`,
        `    paths: { escapedSlashes: keep, mergeSlashes: true }
`,
      ),
      'f.yaml',
    );
    assert.deepEqual(problems.map(formatProblem), []);
    const listener = config!.listeners[0]!;
    assert.ok(listener.protocol === 'http');
    assert.deepEqual(listener.paths, { escapedSlashes: 'keep', mergeSlashes: true });
    const defaults = loadConfigText(http(`      - cluster: api`), 'f.yaml').config!.listeners[0]!;
    assert.ok(defaults.protocol === 'http');
    assert.deepEqual(defaults.paths, { escapedSlashes: 'reject', mergeSlashes: false });
    const bad = problemsOf(
      http(
        `      - match: { pathPrefix: /public/../admin }
        cluster: api
      - match: { path: "/%7euser" }
        cluster: api
      - match: { path: "/100%" }
        cluster: api`,
        `    paths: { escapedSlashes: sometimes }
`,
      ),
    ).join('\n');
    assert.match(bad, /listeners\[0\]\.paths\.escapedSlashes: escapedSlashes is reject, keep or decode/);
    assert.match(
      bad,
      /routes\[0\]\.match\.pathPrefix: request paths are normalised before matching .*: write "\/admin"/,
    );
    assert.match(bad, /routes\[1\]\.match\.path: request paths are normalised .*: write "\/~user"/);
    assert.match(bad, /routes\[2\]\.match\.path: a "%" in a path starts a percent-encoding/);
  });

  it('warns about a route that an earlier route shadows completely', () => {
    const { config, problems } = loadConfigText(
      http(`      - match: { pathPrefix: /api }
        cluster: api
      - match: { pathPrefix: /api/v2, methods: [GET] }
        cluster: web
      - match: { host: "*.example.com" }
        cluster: api
      - match: { host: shop.example.com, headers: { x-a: "1" } }
        cluster: web
      - match: { pathPrefix: /apix }
        cluster: web
      - match: {}
        cluster: web
      - match: { path: /late }
        cluster: web`),
      'f.yaml',
    );
    assert.ok(config, 'warnings do not reject the config');
    assert.deepEqual(problems.map(formatProblem), [
      'f.yaml:8:16 listeners[0].routes[1].match: warning: this route is never used: routes[0] before it matches every request it would',
      'f.yaml:12:16 listeners[0].routes[3].match: warning: this route is never used: routes[2] before it matches every request it would',
      'f.yaml:18:16 listeners[0].routes[6].match: warning: this route is never used: routes[5] before it matches every request it would',
    ]);
  });
});
