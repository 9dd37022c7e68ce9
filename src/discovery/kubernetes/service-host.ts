/**
 * The Service a Host names, the way cluster DNS spells it: `svc.ns`, `svc.ns.svc`,
 * `svc.ns.svc.<clusterDomain>`, each with an optional `:port` (a Service port number).
 * A port by name is written as in the Service's SRV records: `_http._tcp.svc.ns[...]`
 * (a Host's port may only be digits).
 */

export interface ServiceHost {
  namespace: string;
  service: string;
  /** A Service port number (`:8080`), a port name (`_http._tcp.`), or undefined (the first port). */
  port: number | string | undefined;
}

/** `hostHeader` as received (any case, optional port, optional trailing dot); undefined when it names no Service. */
export function parseServiceHost(hostHeader: string, clusterDomain: string): ServiceHost | undefined {
  let host = hostHeader.toLowerCase();
  let port: number | string | undefined;
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    const digits = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(digits)) return undefined; // an IPv6 literal, or garbage
    port = Number(digits);
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.endsWith(`.svc.${clusterDomain}`)) host = host.slice(0, -(clusterDomain.length + 5));
  else if (host.endsWith('.svc')) host = host.slice(0, -4);
  if (host.startsWith('_')) {
    const tcp = host.indexOf('._tcp.');
    if (tcp < 2) return undefined;
    port = host.slice(1, tcp);
    host = host.slice(tcp + 6);
  }
  const dot = host.indexOf('.');
  if (dot <= 0 || dot === host.length - 1 || host.indexOf('.', dot + 1) >= 0) return undefined;
  return { service: host.slice(0, dot), namespace: host.slice(dot + 1), port };
}
