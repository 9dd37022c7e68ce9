/**
 * Identities in a peer's certificate, for allow-lists of clients (a listener's
 * `allowedClients`) and of servers (a cluster's `subjectAltNames`): the DNS names and URIs
 * (SPIFFE IDs such as `spiffe://cluster.local/ns/a/sa/b`) of its subject alternative names.
 */
import type { PeerCertificate } from 'node:tls';

/** `DNS:a.example, URI:spiffe://x/y, IP Address:10.0.0.1` → `['a.example', 'spiffe://x/y', '10.0.0.1']`. */
export function subjectAltNames(certificate: Pick<PeerCertificate, 'subjectaltname'> | undefined): string[] {
  const text = certificate?.subjectaltname;
  if (!text) return [];
  const names: string[] = [];
  for (const part of text.split(', ')) {
    const colon = part.indexOf(':');
    if (colon > 0) names.push(part.slice(colon + 1).replace(/^"|"$/g, ''));
  }
  return names;
}

/** The first of the certificate's names on the allow-list, or undefined. DNS names compare case-insensitively. */
export function allowedIdentity(
  certificate: Pick<PeerCertificate, 'subjectaltname'> | undefined,
  allowed: readonly string[],
): string | undefined {
  for (const name of subjectAltNames(certificate)) {
    for (const entry of allowed) {
      if (entry === name || (!entry.includes(':') && entry.toLowerCase() === name.toLowerCase())) return name;
    }
  }
  return undefined;
}
