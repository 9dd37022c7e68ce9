import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');
// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML
const manifests: { file: string; doc: any }[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], file);
      return { file, doc: d.toJS() };
    }),
  );

test('every Portside config shipped in a ConfigMap is valid', () => {
  const configs = manifests.filter((m) => m.doc.kind === 'ConfigMap');
  assert.ok(configs.length >= 2);
  for (const { file, doc } of configs) {
    const { config, problems } = loadConfigText(doc.data['portside.yaml'], `${file}#portside.yaml`);
    assert.ok(config, problems.map(formatProblem).join('\n'));
    assert.ok(config.clusters.some((c) => c.discovery?.kubernetes));
  }
});

test('RBAC grants only get/list/watch on endpointslices and services', () => {
  const roles = manifests.filter((m) => m.doc.kind === 'Role' || m.doc.kind === 'ClusterRole');
  assert.equal(roles.length, 2);
  for (const { doc } of roles) {
    assert.deepEqual(
      doc.rules.map((r: { apiGroups: string[]; resources: string[]; verbs: string[] }) => [
        r.apiGroups,
        r.resources,
        r.verbs,
      ]),
      [
        [['discovery.k8s.io'], ['endpointslices'], ['get', 'list', 'watch']],
        [[''], ['services'], ['get', 'list', 'watch']],
      ],
    );
  }
});
