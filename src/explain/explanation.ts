/**
 * What `portside explain` answers, as plain JSON: the same document comes from the CLI
 * offline and from the admin API's `/explain` live, and the CLI prints either (format.ts).
 */

export interface EndpointExplanation {
  address: string;
  weight: number;
  locality: { node?: string; zone?: string };
  /** Whether the policy may pick it for the next request or connection. */
  usable: boolean;
  /** Why it is not usable, or what limits it (one line each); empty when nothing does. */
  reasons: string[];
  /** The raw availability flags (`Unavailable` names); empty when available. */
  flags: string[];
  /** Open connections or in-flight requests (live only). */
  active?: number;
  /** The last failure of real traffic to it, e.g. `connect-refused` (live only). */
  lastError?: string;
  /** Outlier ejection: milliseconds until it ends (live only). */
  ejectionLeftMs?: number;
}

export interface ClusterExplanation {
  name: string;
  /** `static`, or the discovery source (`dns A web.internal`, `kubernetes default/web`). */
  endpointsFrom: string;
  /** The balancing policy, with locality and affinity when set. */
  policy: string;
  /** Facts about the cluster as a whole (panic mode, what checks health, discovery not contacted). */
  notes: string[];
  endpoints: EndpointExplanation[];
  /** The endpoint the policy picks next, or null when none is usable (or, offline, none is known). */
  nextPick: string | null;
  /** HTTP only: what the proxy speaks to the endpoints (`upstreamProtocol`). */
  upstreamProtocol?: string;
  /** Offline, a discovery source's endpoints are not known: nothing to list or pick. */
  endpointsUnknown?: boolean;
}

export interface RouteVerdict {
  index: number;
  /** The route's name, or its position and match (`#1 pathPrefix=/api`). */
  name: string;
  matched: boolean;
  /** Every condition the request fails; empty for the matching route. */
  reasons: string[];
}

export interface ClusterShare {
  cluster: string;
  weight: number;
  /** Share of requests, 0-100. */
  percent: number;
}

export interface HttpExplanation {
  kind: 'http';
  listener: { name: string; address: string };
  request: { method: string; host: string; path: string; query: string; headers: Record<string, string> };
  /** The routes tried in order: every earlier one with why it failed, then the match. */
  routes: RouteVerdict[];
  /** The matching route's forwarding: the path and Host sent upstream. */
  forward?: { path: string; host: string };
  /** Several clusters by weight; absent for a route with one cluster. */
  split?: ClusterShare[];
  clusters: ClusterExplanation[];
  /** What the proxy answers instead of forwarding (no route, path refused, unknown cluster). */
  answer?: string;
}

/** A TCP or UDP listener (its one cluster), or a TLS passthrough one (the cluster a server name selects). */
export interface TcpExplanation {
  kind: 'tcp' | 'udp' | 'tls';
  listener: { name: string; address: string };
  /** TLS passthrough: the server name (SNI) asked for, and which route or default took it. */
  serverName?: { name: string | null; selectedBy: string };
  clusters: ClusterExplanation[];
  /** TLS passthrough: what the proxy does instead of forwarding (a name no route lists). */
  answer?: string;
}

export interface Explanation {
  /** `offline`: from a config file, endpoints as listed; `live`: the running proxy's state. */
  mode: 'offline' | 'live';
  /** RFC 3339. */
  at: string;
  /** The config generation explained (live only). */
  version?: number;
  notes: string[];
  results: (HttpExplanation | TcpExplanation)[];
}

/** What to explain: an HTTP request, or a TCP listener. */
export type ExplainQuery =
  | {
      kind: 'http';
      method: string;
      /** `http://host[:port]/path?query` or an origin-form `/path`. */
      url: string;
      /** Lower-case names; a `host` here overrides the URL's authority. */
      headers: Record<string, string>;
      /** A listener's name or address; default: the one on the URL's port, else every HTTP listener. */
      listener?: string;
      clientAddress?: string;
    }
  /** A TCP, UDP or TLS passthrough listener (`tcp LISTENER`; `udp` and `tls` are the same query). */
  | { kind: 'tcp'; listener: string; clientAddress?: string; serverName?: string };
