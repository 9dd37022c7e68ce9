/**
 * Merges every EndpointSlice of one Service into the endpoints of one Service port.
 * Pure: the informers hand it their current objects, it returns a whole snapshot.
 */
import type { DiscoveredEndpoint } from '../source.js';
import { sortEndpoints } from '../source.js';
import type { EndpointSliceInfo, ServiceInfo, SliceEndpoint, SlicePort } from './objects.js';

/** Which Service port: its name, its number, or (undefined) the only one there is. */
export type PortSelector = string | number | undefined;

export interface SelectedEndpoints {
  endpoints: DiscoveredEndpoint[];
  /** Why some or all slices gave no endpoints (ambiguous or unknown port), for the log. */
  problem?: string;
}

export function selectEndpoints(
  slices: Iterable<EndpointSliceInfo>,
  service: ServiceInfo | undefined,
  selector: PortSelector,
): SelectedEndpoints {
  const endpoints: DiscoveredEndpoint[] = [];
  let problem: string | undefined;
  for (const slice of slices) {
    // FQDN slices name hosts, not addresses; Portside dials IPs only.
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = slicePort(slice, service, selector);
    if (typeof port === 'string') {
      problem ??= port;
      continue;
    }
    if (!port) continue;
    for (const endpoint of slice.endpoints) {
      const state = conditionsOf(endpoint);
      for (const host of endpoint.addresses) {
        endpoints.push({
          host,
          port: port.port,
          weight: 1,
          locality: {
            ...(endpoint.nodeName ? { node: endpoint.nodeName } : {}),
            ...(endpoint.zone ? { zone: endpoint.zone } : {}),
          },
          ...state,
        });
      }
    }
  }
  return { endpoints: sortEndpoints(endpoints), ...(problem ? { problem } : {}) };
}

/**
 * Kubernetes semantics, as kube-proxy applies them: `ready` (absent = ready) serves;
 * `serving && terminating` drains (used only when nothing else is available); anything else
 * is listed but not ready, so its long-lived state is kept while it is down.
 */
function conditionsOf(endpoint: SliceEndpoint): Pick<DiscoveredEndpoint, 'ready' | 'terminating'> {
  if (endpoint.terminating === true) {
    // `serving` is absent before Kubernetes 1.22; then a ready endpoint is serving.
    const serving = endpoint.serving ?? endpoint.ready !== false;
    return serving ? { terminating: true } : { ready: false };
  }
  return endpoint.ready === false ? { ready: false } : {};
}

/** The slice port for the selected Service port; a string explains why there is none. */
function slicePort(
  slice: EndpointSliceInfo,
  service: ServiceInfo | undefined,
  selector: PortSelector,
): SlicePort | string | undefined {
  const tcp = slice.ports.filter((p) => p.protocol === 'TCP');
  if (selector === undefined) {
    if (tcp.length <= 1) return tcp[0];
    return `the Service has several ports (${tcp.map((p) => p.name || p.port).join(', ')}); set discovery.kubernetes.port`;
  }
  if (typeof selector === 'string') {
    return (
      tcp.find((p) => p.name === selector) ?? `no port named "${selector}" in EndpointSlice ${slice.name}`
    );
  }
  // A Service port number: find its name in the Service, then that name in the slice.
  const servicePort = service?.ports.find((p) => p.port === selector && p.protocol === 'TCP');
  if (servicePort) {
    return (
      tcp.find((p) => p.name === servicePort.name) ??
      `no port named "${servicePort.name}" in EndpointSlice ${slice.name}`
    );
  }
  // Without the Service (not readable, or no such port), accept the number as the target port.
  return (
    tcp.find((p) => p.port === selector) ??
    `no Service port or target port ${selector} for EndpointSlice ${slice.name}`
  );
}
