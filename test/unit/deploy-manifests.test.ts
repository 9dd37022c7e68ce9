import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ADMIN_TOKEN_ENV } from '../../src/config/admin-token.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ms, parseAddress } from '../../src/config/values.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'deploy', 'kubernetes');
// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML
type Doc = any;
const manifests: { file: string; doc: Doc }[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], file);
      return { file, doc: d.toJS() };
    }),
  );

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);
/** Kubernetes names: DNS-1123 labels (most objects) and IANA service names (container ports). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const find = (kind: string, name: string, namespace?: string) =>
  manifests.find(
    (m) => m.doc.kind === kind && m.doc.metadata.name === name && m.doc.metadata.namespace === namespace,
  )?.doc;

const workloads = manifests.filter((m) => WORKLOADS.has(m.doc.kind));

/** A workload's pod spec, its Portside container (a native sidecar or a plain container) and its config. */
function portsideOf({ doc }: { doc: Doc }) {
  const pod = doc.spec.template.spec;
  const containers: Doc[] = [...(pod.initContainers ?? []), ...pod.containers];
  const container = containers.find((c) => String(c.image).startsWith('portside:'));
  assert.ok(container, `${doc.metadata.name} runs Portside`);
  const volume = pod.volumes.find(
    (v: Doc) => v.configMap && container.volumeMounts.some((m: Doc) => m.name === v.name),
  );
  const configMap = find('ConfigMap', volume.configMap.name, doc.metadata.namespace);
  assert.ok(configMap, `ConfigMap ${volume.configMap.name} is in the manifests`);
  return { pod, container, config: validConfig(configMap.data['portside.yaml'], doc, container) };
}

/** The value a container's environment variable gets from the manifests (fieldRefs: a stand-in). */
function envValue(namespace: string, variable: Doc): string {
  if (variable.value !== undefined) return String(variable.value);
  const secretRef = variable.valueFrom?.secretKeyRef;
  if (secretRef) {
    const secret = find('Secret', secretRef.name, namespace);
    assert.ok(secret, `Secret ${secretRef.name} is in the manifests`);
    const value = secret.stringData?.[secretRef.key];
    assert.equal(typeof value, 'string', `Secret ${secretRef.name} has key ${secretRef.key}`);
    return value;
  }
  assert.ok(variable.valueFrom?.fieldRef, `${variable.name} has a value`);
  return 'from-the-downward-api';
}

/** The config as Portside loads it in that container: its environment, then `validate`'s checks. */
function validConfig(text: string, workload: Doc, container: Doc): Config {
  const env: NodeJS.ProcessEnv = {};
  for (const v of container.env ?? []) env[v.name] = envValue(workload.metadata.namespace, v);
  // The admin schema reads the token's variable from the process environment.
  const saved = process.env[ADMIN_TOKEN_ENV];
  if (env[ADMIN_TOKEN_ENV] !== undefined) process.env[ADMIN_TOKEN_ENV] = env[ADMIN_TOKEN_ENV];
  else delete process.env[ADMIN_TOKEN_ENV];
  try {
    const { config, problems } = loadConfigText(text, `${workload.metadata.name}#portside.yaml`, env);
    assert.ok(config, problems.map(formatProblem).join('\n'));
    return config;
  } finally {
    if (saved === undefined) delete process.env[ADMIN_TOKEN_ENV];
    else process.env[ADMIN_TOKEN_ENV] = saved;
  }
}

const portOf = (address: string) => {
  const parsed = parseAddress(address);
  assert.ok(parsed.ok, address);
  return parsed.value.port;
};

describe('Kubernetes manifests: the fields Kubernetes requires', () => {
  it('every object has apiVersion, kind, a valid name, and a namespace unless cluster-scoped', () => {
    assert.ok(manifests.length >= 8);
    for (const { file, doc } of manifests) {
      const what = `${file}: ${doc.kind} ${doc.metadata?.name}`;
      assert.match(doc.apiVersion, /^([a-z0-9.]+\/)?v\d+((alpha|beta)\d+)?$/, what);
      assert.match(doc.kind, /^[A-Z][A-Za-z]+$/, what);
      assert.match(doc.metadata.name, DNS_LABEL, what);
      if (CLUSTER_SCOPED.has(doc.kind)) assert.equal(doc.metadata.namespace, undefined, what);
      else assert.match(doc.metadata.namespace, DNS_LABEL, what);
    }
  });

  it('workloads: selector matches the pod labels; containers, ports, mounts and references are complete', () => {
    assert.equal(workloads.length, 2);
    for (const { file, doc } of workloads) {
      const ns = doc.metadata.namespace;
      const template = doc.spec.template;
      for (const [key, value] of Object.entries(doc.spec.selector.matchLabels))
        assert.equal(template.metadata.labels[key], value, `${file}: selector ${key}`);
      const pod = template.spec;
      assert.ok(
        find('ServiceAccount', pod.serviceAccountName, ns),
        `${file}: ServiceAccount ${pod.serviceAccountName}`,
      );
      const containers: Doc[] = [...(pod.initContainers ?? []), ...pod.containers];
      const names = containers.map((c) => c.name);
      assert.equal(new Set(names).size, names.length, `${file}: container names are unique`);
      const volumes = new Set(pod.volumes.map((v: Doc) => v.name));
      for (const c of containers) {
        const what = `${file}: container ${c.name}`;
        assert.match(c.name, DNS_LABEL, what);
        assert.equal(typeof c.image, 'string', what);
        for (const port of c.ports ?? []) {
          assert.ok(
            Number.isInteger(port.containerPort) && port.containerPort > 0 && port.containerPort < 65536,
            what,
          );
          if (port.name !== undefined) assert.match(port.name, PORT_NAME, what);
          if (pod.hostNetwork)
            assert.equal(
              port.hostPort,
              port.containerPort,
              `${what}: hostNetwork needs hostPort = containerPort`,
            );
        }
        for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
          const port = c[probe]?.httpGet?.port;
          if (typeof port === 'string')
            assert.ok(
              c.ports.some((p: Doc) => p.name === port),
              `${what}: ${probe} port ${port} is declared`,
            );
        }
        for (const mount of c.volumeMounts ?? [])
          assert.ok(volumes.has(mount.name), `${what}: volume ${mount.name}`);
        for (const v of c.env ?? []) envValue(ns, v);
      }
      for (const v of pod.volumes) {
        if (v.configMap)
          assert.ok(find('ConfigMap', v.configMap.name, ns), `${file}: ConfigMap ${v.configMap.name}`);
      }
    }
  });
});

describe('Kubernetes manifests: Portside is probed, drained and scraped through its admin API', () => {
  it('every ConfigMap config passes validate, with an admin section', () => {
    const configs = manifests.filter((m) => m.doc.kind === 'ConfigMap');
    assert.ok(configs.length >= 2);
    for (const workload of workloads) {
      const { config } = portsideOf(workload);
      assert.ok(config.admin, `${workload.file}: admin section`);
      assert.ok(config.clusters.some((c) => c.discovery?.kubernetes));
    }
  });

  for (const workload of workloads) {
    it(`${workload.file}: probes, preStop /drain and the scrape annotation use the admin port`, () => {
      const { pod, container, config } = portsideOf(workload);
      const adminPort = portOf(config.admin!.address);
      assert.doesNotMatch(
        config.admin!.address,
        /^127\.|^\[::1\]|^localhost/,
        'kubelet reaches the pod address',
      );
      const port = (name: string | number) =>
        typeof name === 'number' ? name : container.ports.find((p: Doc) => p.name === name).containerPort;
      assert.equal(container.readinessProbe.httpGet.path, '/ready');
      assert.equal(port(container.readinessProbe.httpGet.port), adminPort);
      assert.equal(container.livenessProbe.httpGet.path, '/healthz');
      assert.equal(port(container.livenessProbe.httpGet.port), adminPort);
      const preStop = container.lifecycle.preStop.exec.command.join(' ');
      assert.match(preStop, new RegExp(`http://127\\.0\\.0\\.1:${adminPort}/drain`));
      assert.match(preStop, /method: 'POST'/);
      assert.match(preStop, new RegExp(`process\\.env\\.${ADMIN_TOKEN_ENV}`));
      assert.ok(
        container.env.some((v: Doc) => v.name === ADMIN_TOKEN_ENV),
        'the token reaches the container',
      );
      const annotations = workload.doc.spec.template.metadata.annotations;
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(Number(annotations['prometheus.io/port']), adminPort);
      assert.equal(annotations['prometheus.io/path'], '/metrics');
      assert.equal(config.admin!.openMetrics, true, 'a scrape by annotation sends no token');
      assert.ok(
        pod.terminationGracePeriodSeconds * 1000 > ms(config.drainTimeout),
        'drain fits the grace period',
      );
    });
  }

  it('the sidecar is a native sidecar: an init container with restartPolicy Always', () => {
    const sidecar = workloads.find((w) => w.doc.kind === 'Deployment')!;
    const { pod, container } = portsideOf(sidecar);
    assert.ok(pod.initContainers.includes(container));
    assert.equal(container.restartPolicy, 'Always');
    assert.ok(container.startupProbe, 'the app starts once Portside answers');
    assert.ok(!pod.containers.includes(container));
  });
});

test("the Docker image's default config listens where a container needs it and EXPOSEs its ports", () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const copied = /^COPY (\S+) \/etc\/portside\/portside\.yaml$/m.exec(dockerfile)?.[1];
  assert.ok(copied, 'the image ships a default config');
  const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile)?.[1] ?? '';
  assert.match(cmd, /"\/etc\/portside\/portside\.yaml"/);
  const exposed = new Set(
    [...dockerfile.matchAll(/^EXPOSE (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).map(Number)),
  );
  const text = readFileSync(join(ROOT, copied), 'utf8');
  assert.match(text, /^# yaml-language-server: \$schema=/);
  const saved = process.env[ADMIN_TOKEN_ENV];
  process.env[ADMIN_TOKEN_ENV] = 'a-token-of-at-least-16-characters';
  try {
    const { config, problems } = loadConfigText(text, copied, {});
    assert.ok(config, problems.map(formatProblem).join('\n'));
    const addresses = [config.admin!.address, ...config.listeners.map((l) => l.address)];
    for (const address of addresses) {
      assert.match(address, /^0\.0\.0\.0:|^\[::\]:/, `${address}: reachable from outside the container`);
      assert.ok(exposed.has(portOf(address)), `EXPOSE ${portOf(address)}`);
    }
  } finally {
    if (saved === undefined) delete process.env[ADMIN_TOKEN_ENV];
    else process.env[ADMIN_TOKEN_ENV] = saved;
  }
  // Without the token the admin API would be open to the network: the config refuses to load.
  delete process.env[ADMIN_TOKEN_ENV];
  try {
    assert.equal(loadConfigText(text, copied, {}).config, undefined);
  } finally {
    if (saved !== undefined) process.env[ADMIN_TOKEN_ENV] = saved;
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
