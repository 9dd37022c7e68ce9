// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references in plain strings on purpose.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import { issueMessage } from '../../src/config/messages.js';
import { config as configSchema } from '../../src/config/schema.js';
import { keysAt } from '../../src/config/schema-keys.js';

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  return loadConfigText(yaml, 'f.yaml', env).problems.map(formatProblem);
}

const CLUSTER = 'clusters:\n  - { name: c, endpoints: [127.0.0.1:7001] }\n';

/** Messages zod writes when the schema has none of its own. */
const LIBRARY_WORDS =
  /Invalid input|Too small|Too big|Unrecognized key|Invalid (option|key|element)|received /;

describe('one validation pass', () => {
  it('reports schema errors and reference errors together', () => {
    const problems = problemsOf(`listeners:
  - { name: a, address: 1, cluster: cc, connectTimeout: 5 }
  - name: h
    protocol: http
    address: 2
    routes:
      - { match: { pathPrefix: api }, cluster: nope }
      - { name: r, cluster: c }
      - { name: r, weightedClusters: [{ cluster: cx, weight: 1 }] }
${CLUSTER}  - { name: c, endpoints: [127.0.0.1:1, { address: x }] }
`);
    assert.deepEqual(problems, [
      'f.yaml:2:37 listeners[0].cluster: unknown cluster "cc" (did you mean "c"?)',
      'f.yaml:2:57 listeners[0].connectTimeout: expected a duration with a unit, e.g. "500ms", "1s", "10m"',
      'f.yaml:7:32 listeners[1].routes[0].match.pathPrefix: paths start with "/"',
      'f.yaml:7:48 listeners[1].routes[0].cluster: unknown cluster "nope"',
      'f.yaml:9:17 listeners[1].routes[2].name: duplicate route name "r" (first at routes[1])',
      'f.yaml:9:50 listeners[1].routes[2].weightedClusters[0].cluster: unknown cluster "cx" (did you mean "c"?)',
      'f.yaml:12:13 clusters[1].name: duplicate cluster name "c" (first at clusters[0])',
      'f.yaml:12:52 clusters[1].endpoints[1].address: invalid address "x": missing port; write host:port',
    ]);
  });

  it('skips the checks a broken item cannot support, without inventing problems', () => {
    assert.deepEqual(
      problemsOf(
        `listeners:\n  - 5\n  - { name: b, address: 0, cluster: c }\nclusters:\n  - x\n${CLUSTER.slice(10)}`,
      ),
      [
        'f.yaml:2:5 listeners[0]: expected a mapping of keys to values, got 5',
        'f.yaml:5:5 clusters[0]: expected a mapping of keys to values, got "x"',
      ],
    );
  });
});

describe('YAML syntax errors', () => {
  it('one a line and five at most: the rest follow from the first', () => {
    const listener = '  - { name: b, address: 1, cluster: c }\n';
    const problems = problemsOf(
      `listeners:\n  - { name: a, address: \${PORT}, cluster: c }\n${listener.repeat(8)}`,
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.equal(new Set(problems.map((p) => p.split(':')[1])).size, 5);
    assert.match(problems[4]!, /\(more YAML errors follow, likely caused by these\)$/);
  });

  it('an unquoted ${VAR} inside { } gets a hint to quote it', () => {
    const [first] = problemsOf(`listeners:\n  - { name: a, address: \${PORT}, cluster: c }\n${CLUSTER}`, {
      PORT: '1',
    });
    assert.match(
      first!,
      /^f\.yaml:2:\d+ YAML syntax error: .*; inside \{ \} quote a variable reference: "\$\{VAR\}"$/,
    );
    assert.deepEqual(
      problemsOf(`listeners:\n  - { name: a, address: "\${PORT}", cluster: c }\n${CLUSTER}`, { PORT: '1' }),
      [],
    );
  });
});

describe('unknown keys', () => {
  for (const [yaml, expected] of [
    [
      'listeners:\n  - { name: a, adress: 1, cluster: c }\n',
      'listeners[0].adress: unknown field "adress" (did you mean "address"?)',
    ],
    [
      'listeners:\n  - { name: a, address: 1, cluster: c, timout: 1s }\n',
      'listeners[0].timout: unknown field "timout"; fields here: name, address, protocol, cluster, connectTimeout, idleTimeout, tls',
    ],
    [
      'listeners:\n  - { name: a, protocol: http, address: 1, routes: [{ cluster: c, timout: 1s }] }\n',
      'listeners[0].routes[0].timout: unknown field "timout" (did you mean "timeout"?)',
    ],
    [
      'listeners:\n  - { name: a, protocol: http, address: 1, limts: {}, routes: [{ cluster: c }] }\n',
      'listeners[0].limts: unknown field "limts" (did you mean "limits"?)',
    ],
    [
      'clusters:\n  - { name: c, endpoints: [], healthcheck: {} }\n',
      'clusters[0].healthcheck: unknown field "healthcheck" (did you mean "healthCheck"?)',
    ],
    ['drainTimout: 1s\n', 'drainTimout: unknown field "drainTimout" (did you mean "drainTimeout"?)'],
  ] as const) {
    it(`${expected.split(':')[0]}: ${expected.split('"')[1]}`, () => {
      const problems = problemsOf(yaml).map((p) => p.replace(/^f\.yaml:\d+:\d+ /, ''));
      assert.ok(problems.includes(expected), problems.join('\n'));
    });
  }

  it('finds the keys of the form a union member takes', () => {
    const raw = { listeners: [{ protocol: 'http' }, {}] };
    assert.ok(keysAt(configSchema, raw, ['listeners', 0]).includes('routes'));
    assert.ok(!keysAt(configSchema, raw, ['listeners', 1]).includes('routes'));
    assert.deepEqual(keysAt(configSchema, raw, ['nowhere', 3]), []);
  });
});

describe("messages in Portside's words", () => {
  it('no check leaks the validation library’s wording', () => {
    const problems = problemsOf(`listeners:
  - name: h
    protocol: http
    address: 1
    limits: { maxHeaders: 0, maxHeaderBytes: 99999999, headersTimeout: [1] }
    upstream: { maxConnectionsPerEndpoint: 1.5 }
    paths: { mergeSlashes: "yes", escapedSlashes: nope }
    accessLog: null
    routes:
      - cluster: c
        retries: { attempts: -1, on: [] , bufferLimit: "big" }
        match: { methods: [], headers: { "bad header": "1" } }
clusters:
  - name: c
    endpoints: [{ address: 127.0.0.1:1, weight: 2000000, zone: 5 }]
    discovery: { etcd: { endpoints: [] , prefix: "" } }
    healthCheck: { http: { expectedStatus: [] }, tcp: 5 }
    outlierDetection: { consecutiveFailures: 0 }
node: { name: "" }
admin: { token: short }
`);
    assert.ok(problems.length >= 15, problems.join('\n'));
    for (const p of problems) assert.doesNotMatch(p, LIBRARY_WORDS, p);
  });

  it('every issue code has words of its own', () => {
    const codes: z.core.$ZodRawIssue[] = [
      { code: 'invalid_type', expected: 'number', input: 'x', path: [] } as never,
      { code: 'too_small', origin: 'number', minimum: 1, inclusive: true, input: 0, path: [] } as never,
      { code: 'too_big', origin: 'array', maximum: 3, inclusive: true, input: [], path: [] } as never,
      { code: 'invalid_value', values: ['a', 'b'], input: 'c', path: [] } as never,
      { code: 'invalid_format', format: 'regex', pattern: '^a$', input: 'b', path: [] } as never,
      { code: 'not_multiple_of', divisor: 2, input: 3, path: [] } as never,
      { code: 'invalid_union', errors: [], input: 1, path: [] } as never,
      { code: 'invalid_key', origin: 'record', issues: [], input: 'k', path: [] } as never,
      { code: 'invalid_element', origin: 'map', key: 'k', issues: [], input: 1, path: [] } as never,
      { code: 'unrecognized_keys', keys: ['a'], input: {}, path: [] } as never,
    ];
    const messages = codes.map(issueMessage);
    assert.deepEqual(messages, [
      'expected a number, got "x"',
      'must be at least 1',
      'list at most 3 entries',
      'expected one of "a", "b"; got "c"',
      '"b" does not have the expected form (^a$)',
      'must be a multiple of 2',
      '1 is not one of the accepted forms of this field',
      'invalid key "k"',
      'invalid entry 1',
      'unknown field "a"',
    ]);
  });
});

describe('listen addresses that overlap', () => {
  const overlapping = (a: string, b: string) =>
    problemsOf(
      `listeners:\n  - { name: a, address: "${a}", cluster: c }\n  - { name: b, address: "${b}", cluster: c }\n${CLUSTER}`,
    );
  for (const [a, b] of <[string, string][]>[
    ['127.0.0.1:6380', '0.0.0.0:6380'],
    ['0.0.0.0:6380', '10.1.2.3:6380'],
    ['[::]:6380', '127.0.0.1:6380'],
    ['[::1]:6380', '[::]:6380'],
    ['0.0.0.0:6380', '[::]:6380'],
    ['localhost:6380', '0.0.0.0:6380'],
  ]) {
    it(`${a} and ${b}`, () => {
      const [problem, ...rest] = overlapping(a, b);
      assert.deepEqual(rest, []);
      assert.match(
        problem!,
        /^f\.yaml:3:25 listeners\[1\]\.address: address \S+ overlaps listeners\[0\] \(\S+\): .* takes port 6380 on every/,
      );
    });
  }
  for (const [a, b] of <[string, string][]>[
    ['127.0.0.1:6380', '127.0.0.2:6380'],
    ['[::1]:6380', '127.0.0.1:6380'],
    ['[::1]:6380', '0.0.0.0:6380'],
    ['0.0.0.0:6380', '0.0.0.0:6381'],
    ['0.0.0.0:0', '127.0.0.1:0'],
  ]) {
    it(`${a} and ${b} can both bind`, () => assert.deepEqual(overlapping(a, b), []));
  }

  it('the same address twice, and the admin address on a listener’s port', () => {
    assert.deepEqual(overlapping('127.0.0.1:6380', '127.0.0.1:6380'), [
      'f.yaml:3:25 listeners[1].address: address 127.0.0.1:6380 is already used by listeners[0]',
    ]);
    assert.deepEqual(
      problemsOf(
        `listeners:\n  - { name: a, address: 0.0.0.0:9000, cluster: c }\n${CLUSTER}admin: { address: 9000 }\n`,
      ),
      [
        'f.yaml:5:19 admin.address: admin address 127.0.0.1:9000 overlaps listeners[0] (0.0.0.0:9000): 0.0.0.0 takes port 9000 on every IPv4 address; only one can bind',
      ],
    );
  });
});

describe('${VAR} substitution', () => {
  const tcp = (address: string, extra = '') =>
    `listeners:\n  - name: a\n    address: ${address}\n    cluster: c\n${extra}${CLUSTER}`;

  it('replaces variables and defaults; a plain value takes the type it expands to, a quoted one stays text', () => {
    const { config, problems } = loadConfigText(
      `${tcp('${HOST:-127.0.0.1}:${PORT}')}  - name: d\n    endpoints:\n      - address: 127.0.0.1:2\n        weight: \${W}\n`,
      'f.yaml',
      { PORT: '6380', W: '7' },
    );
    assert.deepEqual(problems, []);
    assert.equal(config?.listeners[0]?.address, '127.0.0.1:6380');
    assert.equal(config?.clusters[1]?.endpoints?.[0]?.weight, 7);
    assert.deepEqual(
      problemsOf(
        `${tcp('1')}  - name: d\n    endpoints:\n      - address: 127.0.0.1:2\n        weight: "\${W}"\n`,
        {
          W: '7',
        },
      ),
      ['f.yaml:10:17 clusters[1].endpoints[0].weight: expected a number, got "7" (value from ${W})'],
    );
  });

  it('names an unset variable once, and a malformed reference', () => {
    assert.deepEqual(problemsOf(tcp('${PORT}'), { PORT: '' }), [
      'f.yaml:3:14 listeners[0].address: environment variable PORT is not set (or empty); set it, or give a default: ${PORT:-VALUE}',
    ]);
    assert.match(
      problemsOf(tcp('"${ PORT }"'))[0]!,
      /f\.yaml:3:14 listeners\[0\]\.address: a "\$\{" here starts no variable/,
    );
  });

  it('$${ is a literal "${", and keys are never substituted', () => {
    const { config } = loadConfigText(
      `${tcp('1')}  - name: d\n    endpoints: [127.0.0.1:2]\n    discovery: { etcd: { prefix: "/a/$\${X}" } }\n`,
      'f.yaml',
      { X: 'no' },
    );
    assert.equal(config, undefined, 'endpoints and discovery together');
    const keyed = problemsOf('${KEY}: 1\n', { KEY: 'drainTimeout' });
    assert.match(keyed[0]!, /unknown field "\$\{KEY\}"/);
    const literal = loadConfigText(
      `listeners: []\nclusters:\n  - name: d\n    discovery: { etcd: { prefix: "/a/$\${X}" } }\n`,
      'f.yaml',
      { X: 'no' },
    );
    assert.equal(literal.config?.clusters[0]?.discovery?.etcd?.prefix, '/a/${X}');
  });
});

describe('top-level x- keys', () => {
  it('hold anchors to reuse, with << merges, and are ignored otherwise', () => {
    const { config, problems } = loadConfigText(
      `x-timeouts: &timeouts { connectTimeout: 2s, idleTimeout: 1m }
x-note: anything at all
listeners:
  - { name: a, address: 1, cluster: c, <<: *timeouts }
  - { name: b, address: 2, cluster: c, <<: *timeouts, idleTimeout: 5m }
${CLUSTER}`,
      'f.yaml',
      {},
    );
    assert.deepEqual(problems, []);
    assert.equal(config?.listeners[0]?.protocol === 'tcp' && config.listeners[0].connectTimeout, '2s');
    assert.equal(config?.listeners[1]?.protocol === 'tcp' && config.listeners[1].idleTimeout, '5m');
    assert.ok(!('x-note' in (config ?? {})));
  });

  it('only at the top level', () => {
    assert.match(
      problemsOf(`listeners:\n  - { name: a, address: 1, cluster: c, x-note: 1 }\n${CLUSTER}`)[0]!,
      /listeners\[0\]\.x-note: unknown field "x-note"/,
    );
  });
});
