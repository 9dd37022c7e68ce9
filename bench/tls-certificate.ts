/**
 * The certificate every TLS target of the bench terminates with: one ECDSA P-256 key and a
 * self-signed certificate, made with the openssl CLI in the bench's temporary directory, so
 * Portside, nginx and HAProxy pay for the same signature on every full handshake. The
 * start-up check of a TLS target proves it serves exactly this certificate.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

/** The name in the certificate; clients send it as SNI (an IP address cannot be one). */
export const TLS_SERVER_NAME = 'bench.local';

export interface TlsFiles {
  certificate: string;
  key: string;
  /** Certificate then key in one file, as HAProxy's `crt` takes them. */
  bundle: string;
  /** SHA-256 fingerprint of the certificate, as Node's X509Certificate prints it. */
  fingerprint: string;
}

export function makeCertificate(dir: string): TlsFiles {
  const certificate = join(dir, 'bench-tls.crt');
  const key = join(dir, 'bench-tls.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', certificate, '-days', '2', '-subj', `/CN=${TLS_SERVER_NAME}`],
      ...['-addext', `subjectAltName=DNS:${TLS_SERVER_NAME}`],
    ],
    { stdio: 'pipe' },
  );
  const bundle = join(dir, 'bench-tls.pem');
  writeFileSync(bundle, readFileSync(certificate, 'utf8') + readFileSync(key, 'utf8'));
  const fingerprint = new X509Certificate(readFileSync(certificate)).fingerprint256;
  return { certificate, key, bundle, fingerprint };
}

/** One GET /small over TLS must answer 200 with the bench's certificate, or the target is misconfigured. */
export function checkHttps(name: string, port: number, files: TlsFiles): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path: '/small',
      servername: TLS_SERVER_NAME,
      rejectUnauthorized: false,
      agent: false as const,
    };
    const req = request(options, (res) => {
      const served = (res.socket as TLSSocket).getPeerCertificate();
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200)
          reject(new Error(`${name}: GET /small over TLS answered ${res.statusCode}`));
        else if (served?.fingerprint256 !== files.fingerprint)
          reject(new Error(`${name}: served another certificate (${served?.fingerprint256})`));
        else resolve();
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${name}: GET /small over TLS timed out`)));
    req.on('error', (error) => reject(new Error(`${name}: GET /small over TLS failed: ${error.message}`)));
    req.end();
  });
}
