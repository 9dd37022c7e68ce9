/**
 * A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with
 * openssl at run time, so no private key is committed. Two calls give two unrelated CAs
 * (to test a wrong one).
 */
import { readFile } from 'node:fs/promises';
import { TestCa } from './certificates.js';

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
  const ca = await TestCa.create('portside-test');
  const server = await ca.issue({ ips: ['127.0.0.1'], cn: '127.0.0.1', file: 'server' });
  const client = await ca.issue({ cn: 'portside', file: 'client' });
  return {
    dir: ca.dir,
    caFile: ca.certificate,
    ca: await readFile(ca.certificate),
    key: await readFile(server.key),
    cert: await readFile(server.certificate),
    clientKeyFile: client.key,
    clientCertFile: client.certificate,
  };
}
