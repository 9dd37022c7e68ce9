import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadApiServerAccess } from '../../src/discovery/kubernetes/kubeconfig.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function withKubeconfig(yaml: string, run: (file: string, dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'portside-kubeconfig-'));
  try {
    const file = join(dir, 'config');
    await writeFile(file, yaml);
    await run(file, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a kubeconfig gives the server, CA, client certificate and token of its current context', async () => {
  await withKubeconfig(
    `
apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: other
    cluster: { server: "https://other:6443" }
  - name: prod
    cluster:
      server: "https://10.0.0.1:6443/"
      certificate-authority-data: ${b64('CA PEM')}
      tls-server-name: kubernetes.default
contexts:
  - name: prod
    context: { cluster: prod, user: admin }
users:
  - name: admin
    user:
      client-certificate-data: ${b64('CERT PEM')}
      client-key: keys/admin.key
      tokenFile: token
`,
    async (file, dir) => {
      await mkdir(join(dir, 'keys'));
      await writeFile(join(dir, 'keys', 'admin.key'), 'KEY PEM');
      const access = await loadApiServerAccess(file);
      assert.equal(access.server, 'https://10.0.0.1:6443');
      assert.equal(access.ca?.toString(), 'CA PEM');
      assert.equal(access.cert?.toString(), 'CERT PEM');
      assert.equal(access.key?.toString(), 'KEY PEM', 'a relative path is read beside the kubeconfig');
      assert.equal(access.tokenFile, join(dir, 'token'));
      assert.equal(access.tlsServerName, 'kubernetes.default');
      assert.equal(access.insecureSkipTlsVerify, false);
      assert.equal(access.pluginKubeconfig, undefined);
    },
  );
});

test('exec and auth-provider users are marked for the plugin path; broken kubeconfigs say why', async () => {
  const config = (user: string) => `
current-context: c
clusters: [{ name: k, cluster: { server: "https://k:443", insecure-skip-tls-verify: true } }]
contexts: [{ name: c, context: { cluster: k, user: u } }]
users: [{ name: u, user: ${user} }]
`;
  await withKubeconfig(
    config('{ exec: { command: aws, apiVersion: client.authentication.k8s.io/v1 } }'),
    async (file) => {
      const access = await loadApiServerAccess(file);
      assert.equal(access.pluginKubeconfig, file);
      assert.equal(access.insecureSkipTlsVerify, true);
    },
  );
  await withKubeconfig(config('{ auth-provider: { name: oidc } }'), async (file) => {
    assert.equal((await loadApiServerAccess(file)).pluginKubeconfig, file);
  });
  await withKubeconfig('clusters: []\n', async (file) => {
    await assert.rejects(loadApiServerAccess(file), /has no current cluster/);
  });
  await withKubeconfig('current-context: nope\ncontexts: []\n', async (file) => {
    await assert.rejects(loadApiServerAccess(file), /no context named "nope"/);
  });
  await assert.rejects(loadApiServerAccess('/nonexistent/kubeconfig'), /nonexistent/);
});
