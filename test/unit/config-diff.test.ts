import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { diffConfigs, hasChanges, summarizeChanges } from '../../src/core/config-diff.js';

function config(yaml: string): Config {
  const { config, problems } = loadConfigText(yaml);
  if (!config) throw new Error(problems.map((p) => p.message).join('\n'));
  return config;
}

const BASE = `
listeners:
  - { name: web, address: 7001, cluster: api }
  - { name: db, address: 7002, cluster: pg }
clusters:
  - { name: api, endpoints: ["127.0.0.1:9001"] }
  - { name: pg, endpoints: ["127.0.0.1:5432"] }
`;

test('the summary names what was added, removed and changed', () => {
  const before = config(BASE);
  const after = config(`
listeners:
  - { name: web, address: 7001, cluster: api, idleTimeout: 5m }
  - { name: cache, address: 7003, cluster: redis }
clusters:
  - { name: api, endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"] }
  - { name: redis, endpoints: ["127.0.0.1:6379"] }
drainTimeout: 5s
`);
  const changes = diffConfigs(before, after);
  assert.deepEqual(changes.listeners, { added: ['cache'], removed: ['db'], changed: ['web'] });
  assert.deepEqual(changes.clusters, { added: ['redis'], removed: ['pg'], changed: ['api'] });
  assert.deepEqual(changes.settings, ['drainTimeout']);
  assert.equal(
    summarizeChanges(changes),
    'listeners +1 (cache) -1 (db) ~1 (web); clusters +1 (redis) -1 (pg) ~1 (api); settings ~drainTimeout',
  );
});

test('an equal config has no changes, even when written differently', () => {
  const same = config(`
clusters: [{ name: api, endpoints: [{ address: "127.0.0.1:9001", weight: 1 }] }, { name: pg, endpoints: ["127.0.0.1:5432"] }]
listeners: [{ name: web, address: "127.0.0.1:7001", cluster: api }, { name: db, address: 7002, cluster: pg, connectTimeout: 5s }]
`);
  const changes = diffConfigs(config(BASE), same);
  assert.equal(hasChanges(changes), false);
  assert.equal(summarizeChanges(changes), 'no changes');
});

test('the first config lists everything as added', () => {
  assert.equal(
    summarizeChanges(diffConfigs(undefined, config(BASE))),
    'listeners +2 (web, db); clusters +2 (api, pg)',
  );
});

test('routes of HTTP listeners are compared by listener and route name', () => {
  const withRoutes = (routes: unknown[]) =>
    ({ listeners: [{ name: 'web', routes }], clusters: [], drainTimeout: '30s' }) as unknown as Config;
  const changes = diffConfigs(
    withRoutes([
      { name: 'a', cluster: 'x' },
      { name: 'b', cluster: 'x' },
    ]),
    withRoutes([
      { name: 'a', cluster: 'y' },
      { name: 'c', cluster: 'x' },
    ]),
  );
  assert.deepEqual(changes.routes, { added: ['web/c'], removed: ['web/b'], changed: ['web/a'] });
});
