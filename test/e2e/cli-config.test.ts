import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { configWriter, runCli } from '../helpers/cli.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { dir, write: writeConfig } = configWriter('portside-cli-config-');

/** What the validation library says when no message of Portside's own applies. */
const LIBRARY_WORDS = /Invalid input|Too small|Too big|Unrecognized key|received (string|number|undefined)/;

const MISTAKES = `listeners:
  - name: redis
    adress: 127.0.0.1:6380
    cluster: rediss
  - name: web
    protocol: http
    address: 0.0.0.0:6390
    routes:
      - match: { pathPrefx: /api }
        cluster: api
        timout: 5s
  - name: web-v6
    protocol: http
    address: "[::]:6390"
    routes:
      - { cluster: api }
  - name: clash
    address: 127.0.0.1:9901
    cluster: redis
clusters:
  - name: redis
    endpoints: [127.0.0.1:7001]
    healthcheck: { interval: 1s }
  - name: api
    endpoints:
      - { address: 127.0.0.1:7002, weight: 0 }
      - { address: 127.0.0.1:7003, weight: "heavy" }
admin: {}
`;

describe('portside validate: every problem in one pass', { timeout: 60_000 }, () => {
  it('schema errors, unknown keys with hints, references and port overlaps together', async () => {
    const file = writeConfig('mistakes.yaml', MISTAKES);
    const result = await runCli(['validate', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${file}:2:5 listeners[0].address: missing required field "address"`,
      `${file}:3:5 listeners[0].adress: unknown field "adress" (did you mean "address"?)`,
      `${file}:4:14 listeners[0].cluster: unknown cluster "rediss" (did you mean "redis"?)`,
      `${file}:9:18 listeners[1].routes[0].match.pathPrefx: unknown field "pathPrefx" (did you mean "pathPrefix"?)`,
      `${file}:11:9 listeners[1].routes[0].timout: unknown field "timout" (did you mean "timeout"?)`,
      `${file}:14:14 listeners[2].address: address [::]:6390 overlaps listeners[1] (0.0.0.0:6390): [::] takes port 6390 on every IPv4 and IPv6 address; only one can bind`,
      `${file}:23:5 clusters[0].healthcheck: unknown field "healthcheck" (did you mean "healthCheck"?)`,
      `${file}:26:44 clusters[1].endpoints[0].weight: must be at least 1`,
      `${file}:27:44 clusters[1].endpoints[1].weight: expected a number, got "heavy"`,
      `${file}:28:8 admin.address: admin address 127.0.0.1:9901 is already used by listeners[3]`,
      `${file}: invalid (10 errors)`,
    ]);
    assert.doesNotMatch(result.stderr, LIBRARY_WORDS);
  });

  it('checks every file named, and fails if one is invalid', async () => {
    const good = join(ROOT, 'config', 'portside.yaml');
    const bad = join(ROOT, 'test', 'fixtures', 'bad.yaml');
    const result = await runCli(['validate', good, bad, join(ROOT, 'config', 'http-example.yaml')]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout.split('\n').filter((l) => / valid \(/.test(l)).length, 2);
    assert.match(result.stderr, /bad\.yaml: invalid \(3 errors\)\n$/);
    const both = await runCli(['validate', good, good]);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stdout.split('\n').filter(Boolean).length, 2);
  });

  it('reads "-" from standard input', async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'bad.yaml'), 'utf8');
    const result = await runCli(['validate', '-'], { input: text });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^<stdin>:3:14 listeners\[0\]\.address: port 99999 is out of range/);
    const good = await runCli(['validate', '-'], {
      input: readFileSync(join(ROOT, 'config', 'portside.yaml'), 'utf8'),
    });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^<stdin>: valid \(1 listener, 1 cluster, 2 static endpoints\)\n$/);
  });

  it('refuses a directory and a missing file in words, and run refuses a directory too', async () => {
    const result = await runCli(['validate', dir, join(dir, 'nope.yaml')]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${dir}:1:1 cannot read config: this is a directory; name a config file`,
      `${dir}: invalid (1 error)`,
      `${join(dir, 'nope.yaml')}:1:1 cannot read config: file not found`,
      `${join(dir, 'nope.yaml')}: invalid (1 error)`,
    ]);
    const run = await runCli(['run', '-c', dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot read config: this is a directory/);
    assert.doesNotMatch(run.stderr, /EISDIR|\n\s+at /);
  });

  it('--print-defaults prints YAML or JSON, percentages as written', async () => {
    const file = join(ROOT, 'config', 'portside.yaml');
    const json = await runCli(['validate', '--print-defaults', '--output', 'json', file]);
    assert.equal(json.code, 0, json.stderr);
    const yaml = await runCli(['validate', '--print-defaults', file]);
    assert.deepEqual(JSON.parse(json.stdout), parse(yaml.stdout));
    // Percentages print as written, and the printed config is a valid config again.
    const health = writeConfig(
      'percent.yaml',
      'clusters:\n  - name: c\n    endpoints: [127.0.0.1:1]\n    healthCheck: { jitter: 15% }\n',
    );
    const printed = await runCli(['validate', '--print-defaults', health]);
    assert.equal(parse(printed.stdout).clusters[0].healthCheck.jitter, '15%');
    assert.equal(parse(printed.stdout).clusters[0].panicThreshold, '50%');
    const again = await runCli(['validate', '-'], { input: printed.stdout });
    assert.equal(again.code, 0, again.stderr);
    const bad = await runCli(['validate', '--output', 'xml', '--print-defaults', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--output must be yaml or json/);
  });
});

describe('portside commands and help', { timeout: 60_000 }, () => {
  it('each command has its own help, from --help and from "help COMMAND"', async () => {
    for (const [command, words] of [
      ['run', /--log-pretty/],
      ['validate', /--print-defaults/],
      ['schema', /yaml-language-server/],
      ['demo', /--port N/],
    ] as const) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: portside ${command}`));
      assert.match(help.stdout, words);
      assert.equal((await runCli(['help', command])).stdout, help.stdout);
    }
    const global = await runCli(['--help']);
    assert.match(global.stdout, /portside schema/);
    assert.notEqual(global.stdout, (await runCli(['run', '--help'])).stdout);
  });

  it('suggests the nearest command, and refuses options a command does not take', async () => {
    const typo = await runCli(['validatee', 'x.yaml']);
    assert.equal(typo.code, 2);
    assert.equal(
      typo.stderr,
      'portside: unknown command "validatee" (did you mean "validate"?)\nSee "portside --help".\n',
    );
    const option = await runCli(['validate', '--port', '1', 'x.yaml']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /^portside: validate has no option --port\nSee "portside validate --help"/);
    const extra = await runCli(['run', '-c', 'a.yaml', 'b.yaml']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /run takes one config file/);
  });
});

describe('config from the environment and YAML anchors', { timeout: 60_000 }, () => {
  it('substitutes $VAR references with defaults, and names the variable in errors', async () => {
    const file = writeConfig(
      'env.yaml',
      `x-endpoint: &endpoint { weight: 2 }
listeners:
  - name: redis
    address: \${PORTSIDE_TEST_PORT}
    cluster: redis
    connectTimeout: \${PORTSIDE_TEST_TIMEOUT:-2s}
clusters:
  - name: redis
    endpoints:
      - { address: 127.0.0.1:7001, <<: *endpoint }
`,
    );
    const ok = await runCli(['validate', '--print-defaults', file], { env: { PORTSIDE_TEST_PORT: '6400' } });
    assert.equal(ok.code, 0, ok.stderr);
    const effective = parse(ok.stdout);
    assert.equal(effective.listeners[0].address, '127.0.0.1:6400');
    assert.equal(effective.listeners[0].connectTimeout, '2s');
    assert.equal(effective.clusters[0].endpoints[0].weight, 2);

    const unset = await runCli(['validate', file], { env: { PORTSIDE_TEST_PORT: '' } });
    assert.equal(unset.code, 1);
    assert.equal(
      unset.stderr.split('\n')[0],
      `${file}:4:14 listeners[0].address: environment variable PORTSIDE_TEST_PORT is not set (or empty); set it, or give a default: \${PORTSIDE_TEST_PORT:-VALUE}`,
    );
    const wrong = await runCli(['validate', file], {
      env: { PORTSIDE_TEST_PORT: 'eighty', PORTSIDE_TEST_TIMEOUT: '5' },
    });
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /listeners\[0\]\.address: .*"eighty".* \(value from \$\{PORTSIDE_TEST_PORT\}\)/,
    );
    assert.match(
      wrong.stderr,
      /listeners\[0\]\.connectTimeout: .* \(value from \$\{PORTSIDE_TEST_TIMEOUT\}\)/,
    );
  });
});

describe('portside run: a port already taken', { timeout: 60_000 }, () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('the admin port taken by another process is one line on stderr, no stack', async () => {
    const busy = await startEchoServer();
    servers.push(busy);
    const file = writeConfig(
      'admin-busy.yaml',
      `listeners:\n  - { name: l, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - { name: c, endpoints: [127.0.0.1:1] }\nadmin: { address: 127.0.0.1:${busy.port} }\n`,
    );
    const result = await runCli(['run', '-c', file]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `portside: admin server cannot bind 127.0.0.1:${busy.port}: the port is already in use by another process (EADDRINUSE)\n`,
    );
    assert.doesNotMatch(result.stdout, /"stack"/);
  });
});
