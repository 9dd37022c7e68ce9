/**
 * A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with
 * openssl at run time, so no private key is committed. Two calls give two unrelated CAs
 * (to test a wrong one).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** Path of the CA certificate (PEM), for a kubeconfig's certificate-authority. */
  caFile: string;
  ca: Buffer;
  /** The server's key and certificate (SAN IP:127.0.0.1). */
  key: Buffer;
  cert: Buffer;
  /** Paths of a client key and certificate signed by the same CA (CN=portside). */
  clientKeyFile: string;
  clientCertFile: string;
}

export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'portside-certs-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=portside-test-ca',
  );
  const signed = async (name: string, subject: string, extensions: string) => {
    openssl('req', ...newKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    await writeFile(file(`${name}.cnf`), extensions);
    openssl(
      ...['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
      ...['-CAcreateserial', '-out', file(`${name}.crt`), '-days', '1', '-extfile', file(`${name}.cnf`)],
    );
  };
  await signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
  await signed('client', '/CN=portside', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: file('ca.crt'),
    ca: await readFile(file('ca.crt')),
    key: await readFile(file('server.key')),
    cert: await readFile(file('server.crt')),
    clientKeyFile: file('client.key'),
    clientCertFile: file('client.crt'),
  };
}
