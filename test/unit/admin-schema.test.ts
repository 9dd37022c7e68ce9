import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redact } from '../../src/admin/redact.js';
import { ADMIN_TOKEN_ENV, adminToken, isLoopbackHost } from '../../src/config/admin-schema.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import { redactUrls } from '../../src/core/secrets.js';

const withEnv = (value: string | undefined, fn: () => void) => {
  const before = process.env[ADMIN_TOKEN_ENV];
  if (value === undefined) delete process.env[ADMIN_TOKEN_ENV];
  else process.env[ADMIN_TOKEN_ENV] = value;
  try {
    fn();
  } finally {
    if (before === undefined) delete process.env[ADMIN_TOKEN_ENV];
    else process.env[ADMIN_TOKEN_ENV] = before;
  }
};

test('admin defaults to loopback 127.0.0.1:9901 and is absent unless configured', () => {
  assert.equal(loadConfigText('listeners: []').config?.admin, undefined);
  assert.deepEqual(loadConfigText('admin: {}').config?.admin, {
    address: '127.0.0.1:9901',
    openMetrics: false,
  });
  assert.deepEqual(loadConfigText('admin: { address: 9999 }').config?.admin, {
    address: '127.0.0.1:9999',
    openMetrics: false,
  });
});

test('a non-loopback admin address needs a token from config or environment', () => {
  withEnv(undefined, () => {
    const rejected = loadConfigText('admin:\n  address: 0.0.0.0:9901\n', 'c.yaml');
    assert.equal(rejected.config, undefined);
    assert.equal(rejected.problems.length, 1);
    assert.match(
      formatProblem(rejected.problems[0]!),
      /^c\.yaml:2:12 admin\.address: admin address 0\.0\.0\.0:9901 .*PORTSIDE_ADMIN_TOKEN/,
    );
    const withToken = loadConfigText('admin: { address: "0.0.0.0:9901", token: "0123456789abcdef" }');
    assert.equal(withToken.config?.admin?.token, '0123456789abcdef');
    assert.equal(adminToken(withToken.config!.admin!), '0123456789abcdef');
    const short = loadConfigText('admin: { token: "short" }', 'c.yaml');
    assert.match(
      formatProblem(short.problems[0]!),
      /admin\.token: the admin token must be at least 16 characters/,
    );
  });
  withEnv('from-the-environment-123', () => {
    const config = loadConfigText('admin: { address: "[::]:9901" }').config;
    assert.equal(config?.admin?.address, '[::]:9901');
    assert.equal(adminToken(config!.admin!), 'from-the-environment-123');
  });
});

test('loopback hosts', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
    assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'])
    assert.ok(!isLoopbackHost(host), host);
});

test('redact hides secret-named keys at any depth and keeps everything else', () => {
  const input = {
    admin: { address: 'a', token: 'x' },
    list: [{ apiKey: 'k', password: 'p', name: 'n' }],
    n: 1,
  };
  assert.deepEqual(redact(input), {
    admin: { address: 'a', token: REDACTED },
    list: [{ apiKey: REDACTED, password: REDACTED, name: 'n' }],
    n: 1,
  });
  assert.equal(input.admin.token, 'x', 'the input is not modified');
});

test('redact shows header edit names only, and no URL userinfo in any string', () => {
  const input = {
    routes: [
      {
        requestHeaders: { set: { 'x-api-key': 'k-123', cookie: 's=1' }, remove: ['x-debug'] },
        responseHeaders: { set: { 'set-cookie': 'a=b' }, remove: [] },
      },
    ],
    discovery: { etcd: { endpoints: ['http://user:pw@127.0.0.1:2379', 'https://10.0.0.1:2379/'] } },
    note: 'from https://token@host.example/x and mail a@b.example',
  };
  assert.deepEqual(redact(input), {
    routes: [
      {
        requestHeaders: { set: { 'x-api-key': REDACTED, cookie: REDACTED }, remove: ['x-debug'] },
        responseHeaders: { set: { 'set-cookie': REDACTED }, remove: [] },
      },
    ],
    discovery: { etcd: { endpoints: [`http://${REDACTED}@127.0.0.1:2379`, 'https://10.0.0.1:2379/'] } },
    note: `from https://${REDACTED}@host.example/x and mail a@b.example`,
  });
});

test('redactUrls hides the whole userinfo, up to the last @ before the path', () => {
  assert.equal(redactUrls('GET http://u:p@ss@h:1/x?y=a@b'), `GET http://${REDACTED}@h:1/x?y=a@b`);
  assert.equal(redactUrls('HTTP://U:P@H'), `HTTP://${REDACTED}@H`);
  assert.equal(redactUrls('http://h/a@b and http://x y@z'), 'http://h/a@b and http://x y@z');
});
