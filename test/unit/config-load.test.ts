import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

const CONTRACT = readFileSync(join(import.meta.dirname, '..', '..', 'config', 'portside.yaml'), 'utf8');

/** Problems of a config as the CLI prints them. */
function problemsOf(yaml: string): string[] {
  return loadConfigText(yaml, 'f.yaml').problems.map(formatProblem);
}

const VALID_TAIL = `clusters:
  - name: redis
    endpoints: [127.0.0.1:7001]
`;

describe('config loading', () => {
  it('loads the v1 contract file with defaults filled in', () => {
    const { config, problems } = loadConfigText(CONTRACT, 'portside.yaml');
    assert.deepEqual(problems, []);
    assert.ok(config);
    assert.deepEqual(config.listeners[0], {
      name: 'redis',
      address: '127.0.0.1:6380',
      protocol: 'tcp',
      cluster: 'redis',
      connectTimeout: '1s',
      idleTimeout: '10m',
    });
    assert.deepEqual(config.clusters[0]?.endpoints, [
      { address: '127.0.0.1:7001', weight: 1 },
      { address: '127.0.0.1:7002', weight: 2 },
    ]);
    assert.equal(config.drainTimeout, '30s');
  });

  it('reads a bare port as 127.0.0.1:port', () => {
    const { config } = loadConfigText(
      `listeners:\n  - { name: a, address: 6380, cluster: redis }\n${VALID_TAIL}`,
    );
    assert.equal(config?.listeners[0]?.address, '127.0.0.1:6380');
  });

  it('treats an empty file as an empty config', () => {
    const { config } = loadConfigText('');
    assert.deepEqual(config?.listeners, []);
  });

  it('reports an unknown key at the key, with its field path', () => {
    assert.deepEqual(
      problemsOf(
        `listeners:\n  - name: a\n    address: 1\n    cluster: redis\n    colour: blue\n${VALID_TAIL}`,
      ),
      [
        'f.yaml:5:5 listeners[0].colour: unknown field "colour"; fields here: name, address, protocol, cluster, connectTimeout, idleTimeout, tls',
      ],
    );
  });

  it('reports a malformed address and an out-of-range port at the value', () => {
    const problems = problemsOf(
      `listeners:\n  - { name: a, address: "localhost", cluster: redis }\n  - { name: b, address: 70000, cluster: redis }\n${VALID_TAIL}`,
    );
    assert.equal(problems.length, 2);
    assert.match(
      problems[0]!,
      /^f\.yaml:2:25 listeners\[0\]\.address: invalid address "localhost": missing port/,
    );
    assert.match(problems[1]!, /^f\.yaml:3:25 listeners\[1\]\.address: port 70000 is out of range/);
  });

  it('reports a malformed duration and a duration without a unit', () => {
    const problems = problemsOf(
      `listeners:\n  - name: a\n    address: 1\n    cluster: redis\n    connectTimeout: 10\n    idleTimeout: 5 minutes\n${VALID_TAIL}`,
    );
    assert.match(
      problems[0]!,
      /^f\.yaml:5:21 listeners\[0\]\.connectTimeout: expected a duration with a unit/,
    );
    assert.match(problems[1]!, /^f\.yaml:6:18 listeners\[0\]\.idleTimeout: invalid duration "5 minutes"/);
  });

  it('reports duplicate names and addresses, pointing at the second', () => {
    const problems = problemsOf(`listeners:
  - { name: a, address: 1, cluster: redis }
  - { name: a, address: 1, cluster: redis }
clusters:
  - { name: redis, endpoints: [127.0.0.1:1] }
  - { name: redis, endpoints: [127.0.0.1:2] }
`);
    assert.deepEqual(problems, [
      'f.yaml:3:13 listeners[1].name: duplicate listener name "a" (first at listeners[0])',
      'f.yaml:3:25 listeners[1].address: address 127.0.0.1:1 is already used by listeners[0]',
      'f.yaml:6:13 clusters[1].name: duplicate cluster name "redis" (first at clusters[0])',
    ]);
  });

  it('reports a listener naming a missing cluster, with a suggestion', () => {
    assert.deepEqual(problemsOf(`listeners:\n  - { name: a, address: 1, cluster: rediss }\n${VALID_TAIL}`), [
      'f.yaml:2:37 listeners[0].cluster: unknown cluster "rediss" (did you mean "redis"?)',
    ]);
  });

  it('reports a missing required field at its parent', () => {
    assert.deepEqual(problemsOf(`listeners:\n  - { name: a, address: 1 }\n${VALID_TAIL}`), [
      'f.yaml:2:5 listeners[0].cluster: missing required field "cluster"',
    ]);
  });

  it('reports a YAML syntax error with its position', () => {
    const problems = problemsOf('listeners:\n  - name: a\n   bad: [\n');
    assert.ok(problems.length >= 1);
    assert.match(problems[0]!, /^f\.yaml:\d+:\d+ YAML syntax error: /);
  });

  it('reports a duplicate YAML key', () => {
    const problems = problemsOf('drainTimeout: 1s\ndrainTimeout: 2s\n');
    assert.match(problems[0]!, /^f\.yaml:2:1 YAML syntax error: .*unique/);
  });

  it('reports every problem at once, in file order', () => {
    const problems = problemsOf(
      `listeners:\n  - { name: "-bad", address: 1, cluster: redis, x: 1 }\nclusters:\n  - { name: redis, endpoints: ["127.0.0.1:0"] }\n`,
    );
    assert.equal(problems.length, 3);
    const lines = problems.map((p) => Number(p.split(':')[1]));
    assert.deepEqual(
      lines,
      [...lines].sort((a, b) => a - b),
    );
  });
});
