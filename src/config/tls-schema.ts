/**
 * The `tls:` sections: a listener's (terminate TLS, optionally check client certificates)
 * and a cluster's (originate TLS to its endpoints, verifying them). Certificates, keys and
 * CAs are PEM file paths, read (and re-read when they change) at run time; relative paths
 * are relative to the working directory.
 */
import { z } from 'zod';

const file = z.string({ error: 'expected a file path (PEM)' }).min(1, 'expected a file path (PEM)');

const tlsVersion = z.enum(['TLSv1.2', 'TLSv1.3'], {
  error: 'minVersion is "TLSv1.2" or "TLSv1.3" (older versions are not offered)',
});

/** A server name as SNI carries it: `api.example.com`, or `*.example.com` for one label. */
export const serverName = z
  .string({ error: 'expected a server name such as "api.example.com" or "*.example.com"' })
  .transform((s) => s.toLowerCase())
  .refine(
    (s) => /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(s),
    'a server name is letters, digits, "-" and "." (a wildcard only as a whole first label: "*.example.com")',
  );

/** One certificate chosen by SNI on a listener. */
const namedCertificate = z.strictObject({
  names: z.array(serverName).min(1, 'list the server names this certificate is for'),
  certificate: file,
  key: file,
});

export const listenerTls = z
  .strictObject({
    /** The default certificate (clients without SNI, or whose name no `certificates` entry has). */
    certificate: file,
    key: file,
    /** CA bundle that client certificates must chain to (with `clientCertificate`). */
    ca: file.optional(),
    /** Ask for a client certificate (`request`: verified when given) or insist on one (`require`). */
    clientCertificate: z
      .enum(['none', 'request', 'require'], { error: 'clientCertificate is none, request or require' })
      .default('none'),
    /**
     * Client identities allowed with `clientCertificate`: a subject alternative name (DNS
     * name or URI such as a SPIFFE ID). Empty: any certificate the CA signed.
     */
    allowedClients: z.array(z.string().min(1)).default([]),
    minVersion: tlsVersion.default('TLSv1.2'),
    /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults). */
    ciphers: z.string().min(1).optional(),
    /** ALPN protocols offered, in preference order (http listeners: h2 and http/1.1). */
    alpn: z.array(z.enum(['h2', 'http/1.1'], { error: 'alpn protocols are "h2" and "http/1.1"' })).optional(),
    /** More certificates, chosen by the client's SNI (exact names first, then `*.` names). */
    certificates: z.array(namedCertificate).default([]),
  })
  .superRefine((value, ctx) => {
    if (value.clientCertificate !== 'none' && value.ca === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ca'],
        message: 'checking client certificates needs "ca": the CA bundle they must chain to',
      });
    }
    if (value.allowedClients.length > 0 && value.clientCertificate === 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['allowedClients'],
        message: 'allowedClients needs clientCertificate: require (or request)',
      });
    }
  });

export const clusterTls = z
  .strictObject({
    /** The name sent as SNI and verified; default: the endpoint's host when it is a name. */
    sni: serverName.optional(),
    /** CA bundle the endpoints' certificates must chain to; default: Node's public roots. */
    ca: file.optional(),
    /** A client certificate and key, for endpoints that ask for one (mutual TLS). */
    certificate: file.optional(),
    key: file.optional(),
    /** Verify the endpoint's certificate (chain and name). `false` must be written out. */
    verify: z.boolean().default(true),
    /**
     * Accept only certificates with one of these subject alternative names (DNS names, or
     * URIs such as SPIFFE IDs), instead of checking the name against `sni`/the host.
     */
    subjectAltNames: z.array(z.string().min(1)).default([]),
    /** ALPN offered to the endpoint; default by upstream protocol (h2, http/1.1 or none for tcp). */
    alpn: z.array(z.enum(['h2', 'http/1.1'])).optional(),
    minVersion: tlsVersion.default('TLSv1.2'),
  })
  .superRefine((value, ctx) => {
    if ((value.certificate === undefined) !== (value.key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [value.certificate === undefined ? 'certificate' : 'key'],
        message: 'a client certificate needs both "certificate" and "key"',
      });
    }
  });

export type ListenerTlsConfig = z.output<typeof listenerTls>;
export type ClusterTlsConfig = z.output<typeof clusterTls>;
