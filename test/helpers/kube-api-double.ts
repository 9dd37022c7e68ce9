/**
 * A Kubernetes API server test double that speaks the real wire protocol for the two
 * resources Portside reads (discovery.k8s.io/v1 EndpointSlices and v1 Services):
 * list with `metadata.resourceVersion`, watch as a chunked NDJSON stream whose headers are
 * flushed at once, `ERROR` events carrying a 410 Status for expired resource versions,
 * label and field selectors, paginated lists (`limit`/`continue`). Optionally over TLS and
 * requiring a bearer token. Failures can be injected: HTTP errors on list, sockets destroyed
 * mid-watch, watches that go silent, a server that is down at start.
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export type Kind = 'endpointslices' | 'services';

export interface KubeconfigOptions {
  /** Verify the server with this CA file (else insecure-skip-tls-verify). */
  caFile?: string;
  /** Read the bearer token from this file (else the fixed `token`). */
  tokenFile?: string;
  /** A fixed bearer token ('' for none); default `test-token`. */
  token?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  /** File name in `dir`. */
  name?: string;
}
// biome-ignore lint/suspicious/noExplicitAny: objects are arbitrary JSON on purpose (malformed ones too)
export type KubeObject = Record<string, any>;

interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: Kind;
  object: KubeObject;
}

interface ActiveWatch {
  kind: Kind;
  namespace: string | undefined;
  matches: (object: KubeObject) => boolean;
  response: ServerResponse;
  silent: boolean;
  bookmarks: boolean;
}

const SERVICE_LABEL = 'kubernetes.io/service-name';
const LIST_KIND: Record<Kind, [string, string]> = {
  endpointslices: ['EndpointSliceList', 'discovery.k8s.io/v1'],
  services: ['ServiceList', 'v1'],
};
const ROUTE =
  /^\/(?:apis\/discovery\.k8s\.io\/v1|api\/v1)(?:\/namespaces\/([a-z0-9-]+))?\/(endpointslices|services)(?:\/([a-z0-9.-]+))?$/;

export class KubeApiDouble {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoredEvent[] = [];
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private oldestWatchable = 0;
  private rv = 100;
  private readonly watches = new Set<ActiveWatch>();
  private listFailures: number[] = [];
  private listsToHang = 0;
  /** Objects by `kubernetes.io/service-name` label, so lists of one Service stay cheap at scale. */
  private readonly byService = new Map<string, Set<string>>();
  private silentMode = false;
  readonly requests = {
    lists: 0,
    watches: 0,
    gone: 0,
    bookmarkWatches: 0,
    unauthorized: 0,
    /** The resourceVersion each watch started from. */
    watchFrom: [] as string[],
    /** Request paths with their query, in order. */
    paths: [] as string[],
  };
  /**
   * Serve HTTPS with this key and certificate (set before start); with `clientCa`, clients
   * must present a certificate signed by it.
   */
  tls: { key: Buffer; cert: Buffer; clientCa?: Buffer } | undefined;
  /** Require `Authorization: Bearer <token>` (may change at any time: a rotation). */
  token: string | undefined;
  /** Connections accepted so far. */
  connections = 0;

  constructor(public port = 0) {}

  /** A double with a reserved port that is not listening yet (the API server is down). */
  static async reserved(): Promise<KubeApiDouble> {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return new KubeApiDouble(port);
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const { clientCa, ...tls } = this.tls ?? {};
    const server = this.tls
      ? createTlsServer(
          clientCa ? { ...tls, ca: clientCa, requestCert: true, rejectUnauthorized: true } : tls,
          handler,
        )
      : createServer(handler);
    server.on(this.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Closes every connection and stops listening (the API server goes down). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.watches.clear();
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /**
   * Writes a kubeconfig pointing at this double and returns its path. Default: skip TLS
   * verification and a fixed token; `caFile` makes the client verify, `tokenFile` makes it
   * read its token from a file.
   */
  async writeKubeconfig(
    dir: string,
    namespace = 'default',
    {
      caFile,
      tokenFile,
      token = 'test-token',
      clientCertFile,
      clientKeyFile,
      name = 'kubeconfig.yaml',
    }: KubeconfigOptions = {},
  ): Promise<string> {
    const file = join(dir, name);
    const trust = caFile ? `certificate-authority: ${caFile}` : 'insecure-skip-tls-verify: true';
    const user = [
      tokenFile ? `tokenFile: ${tokenFile}` : token ? `token: ${token}` : '',
      clientCertFile ? `client-certificate: ${clientCertFile}` : '',
      clientKeyFile ? `client-key: ${clientKeyFile}` : '',
    ]
      .filter(Boolean)
      .join('\n    ');
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: double\n  cluster:\n    server: ${this.url}\n    ${trust}`,
        'users:',
        `- name: tester\n  user:\n    ${user}`,
        'contexts:',
        `- name: double\n  context:\n    cluster: double\n    user: tester\n    namespace: ${namespace}`,
        'current-context: double',
        '',
      ].join('\n'),
    );
    return file;
  }

  // ---- state -------------------------------------------------------------------------------

  /** Creates or replaces an object (stamping its resourceVersion) and tells matching watches. */
  apply(kind: Kind, object: KubeObject): KubeObject {
    const key = objectKey(kind, object);
    const existed = this.objects.has(key);
    const stored = structuredClone(object);
    const rv = ++this.rv;
    if (stored.metadata && typeof stored.metadata === 'object') {
      stored.metadata.resourceVersion = String(rv);
      stored.metadata.uid ??= `uid-${key}`;
      stored.metadata.creationTimestamp ??= '2026-01-01T00:00:00Z';
    }
    this.objects.set(key, stored);
    this.index(key, stored);
    this.publish({ rv, type: existed ? 'MODIFIED' : 'ADDED', kind, object: stored });
    return stored;
  }

  delete(kind: Kind, namespace: string, name: string): void {
    const key = `${kind}/${namespace}/${name}`;
    const object = this.objects.get(key);
    if (!object) throw new Error(`no ${key} to delete`);
    this.objects.delete(key);
    this.byService.get(object.metadata?.labels?.[SERVICE_LABEL])?.delete(key);
    const rv = ++this.rv;
    const tombstone = structuredClone(object);
    tombstone.metadata.resourceVersion = String(rv);
    this.publish({ rv, type: 'DELETED', kind, object: tombstone });
  }

  /** Sends an arbitrary (possibly malformed) event on matching watches without storing it. */
  sendRaw(kind: Kind, namespace: string, line: string): void {
    for (const watch of this.watches) {
      if (watch.kind === kind && (!watch.namespace || watch.namespace === namespace) && !watch.silent) {
        watch.response.write(`${line}\n`);
      }
    }
  }

  /** Forgets the event history: watches from any earlier resourceVersion now get 410 Gone. */
  compact(): void {
    this.oldestWatchable = this.rv;
    this.history.length = 0;
  }

  /** The next `count` list requests answer with `status` (a Status object, as the real server). */
  failLists(count: number, status = 500): void {
    for (let i = 0; i < count; i++) this.listFailures.push(status);
  }

  /** The next `count` list requests are never answered (until the double stops). */
  hangLists(count: number): void {
    this.listsToHang += count;
  }

  /** Sends a BOOKMARK (the current resourceVersion) to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const watch of this.watches) {
      if (!watch.bookmarks || watch.silent) continue;
      const [listKind, apiVersion] = LIST_KIND[watch.kind];
      const object = {
        kind: listKind.replace(/List$/, ''),
        apiVersion,
        metadata: { resourceVersion: String(this.rv) },
      };
      watch.response.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    }
  }

  /** Destroys the sockets of every open watch (as a proxy or node failure would). */
  destroyWatches(): void {
    for (const watch of this.watches) watch.response.socket?.destroy();
    this.watches.clear();
  }

  /** Ends every open watch cleanly (as the server's own watch timeout does). */
  endWatches(): void {
    for (const watch of this.watches) watch.response.end();
    this.watches.clear();
  }

  /** Open watches (and new ones while on) stay connected but receive nothing. */
  goSilent(on = true): void {
    this.silentMode = on;
    if (on) for (const watch of this.watches) watch.silent = true;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  // ---- protocol ----------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://double');
    this.requests.paths.push(`${url.pathname}${url.search}`);
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      this.requests.unauthorized++;
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    const route = ROUTE.exec(url.pathname);
    if (req.method !== 'GET' || !route)
      return sendStatus(res, 404, 'NotFound', `no route ${req.method} ${url.pathname}`);
    const [, namespace, kind, name] = route as unknown as [
      string,
      string | undefined,
      Kind,
      string | undefined,
    ];
    if (name) {
      const object = namespace && this.objects.get(`${kind}/${namespace}/${name}`);
      return object
        ? sendJson(res, 200, object)
        : sendStatus(res, 404, 'NotFound', `${kind} "${name}" not found`);
    }
    let matches: (object: KubeObject) => boolean;
    try {
      matches = selectorMatcher(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'));
    } catch (error) {
      return sendStatus(res, 400, 'BadRequest', (error as Error).message);
    }
    const inScope = (object: KubeObject) => !namespace || object.metadata?.namespace === namespace;
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      return this.watch(
        res,
        kind,
        namespace,
        url.searchParams.get('resourceVersion') ?? '',
        (o) => inScope(o) && matches(o),
        url.searchParams.get('allowWatchBookmarks') === 'true',
      );
    }
    this.requests.lists++;
    if (this.listsToHang > 0) {
      this.listsToHang--;
      return;
    }
    const failure = this.listFailures.shift();
    if (failure) return sendStatus(res, failure, 'InternalError', 'injected list failure');
    const all = this.candidates(url.searchParams.get('labelSelector'))
      .filter(([key, object]) => key.startsWith(`${kind}/`) && inScope(object) && matches(object))
      .map(([, object]) => object);
    // Pages by offset (a real server's continue token is opaque; so is this one to the client).
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const from = Number(url.searchParams.get('continue') ?? 0);
    const items = limit > 0 ? all.slice(from, from + limit) : all;
    const more = limit > 0 && from + limit < all.length;
    const [listKind, apiVersion] = LIST_KIND[kind];
    const metadata = {
      resourceVersion: String(this.rv),
      ...(more ? { continue: String(from + limit) } : {}),
    };
    sendJson(res, 200, { kind: listKind, apiVersion, metadata, items });
  }

  private watch(
    res: ServerResponse,
    kind: Kind,
    namespace: string | undefined,
    from: string,
    matches: (o: KubeObject) => boolean,
    bookmarks: boolean,
  ) {
    this.requests.watches++;
    this.requests.watchFrom.push(from);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const fromRv = Number(from);
    if (from !== '' && from !== '0' && (!Number.isInteger(fromRv) || fromRv < this.oldestWatchable)) {
      this.requests.gone++;
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.oldestWatchable})`,
        reason: 'Expired',
        code: 410,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    const watch: ActiveWatch = {
      kind,
      namespace,
      matches,
      response: res,
      silent: this.silentMode,
      bookmarks,
    };
    if (bookmarks) this.requests.bookmarkWatches++;
    this.watches.add(watch);
    res.on('close', () => this.watches.delete(watch));
    if (from === '' || from === '0') {
      // "Start at most recent": synthetic ADDED events for everything that exists.
      for (const [key, object] of this.objects) {
        if (key.startsWith(`${kind}/`) && matches(object)) this.send(watch, 'ADDED', object);
      }
      return;
    }
    for (const event of this.history) {
      if (event.rv > fromRv && event.kind === kind && matches(event.object))
        this.send(watch, event.type, event.object);
    }
  }

  private index(key: string, object: KubeObject): void {
    const service = object.metadata?.labels?.[SERVICE_LABEL];
    if (typeof service !== 'string') return;
    const keys = this.byService.get(service) ?? new Set<string>();
    this.byService.set(service, keys);
    keys.add(key);
  }

  /** Objects a list may match: those of one Service when the selector names one, else all. */
  private candidates(labelSelector: string | null): [string, KubeObject][] {
    const service = new RegExp(`(?:^|,)${SERVICE_LABEL.replace(/\./g, '\\.')}==?([^,]+)`).exec(
      labelSelector ?? '',
    )?.[1];
    if (service === undefined) return [...this.objects.entries()];
    return [...(this.byService.get(service) ?? [])].flatMap((key) => {
      const object = this.objects.get(key);
      return object ? [[key, object] as [string, KubeObject]] : [];
    });
  }

  private publish(event: StoredEvent): void {
    this.history.push(event);
    for (const watch of this.watches) {
      if (watch.kind === event.kind && watch.matches(event.object))
        this.send(watch, event.type, event.object);
    }
  }

  private send(watch: ActiveWatch, type: string, object: KubeObject): void {
    if (!watch.silent) watch.response.write(`${JSON.stringify({ type, object })}\n`);
  }
}

function objectKey(kind: Kind, object: KubeObject): string {
  return `${kind}/${object.metadata?.namespace ?? 'default'}/${object.metadata?.name ?? `unnamed-${Math.random()}`}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

/** Equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`) and metadata field selectors. */
function selectorMatcher(
  labelSelector: string | null,
  fieldSelector: string | null,
): (object: KubeObject) => boolean {
  const tests: ((object: KubeObject) => boolean)[] = [];
  for (const term of (labelSelector ?? '').split(',').filter(Boolean)) {
    const m = /^\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*))?\s*$/.exec(term);
    if (!m) throw new Error(`unable to parse requirement: ${term}`);
    const [, not, key, op, value] = m as unknown as [
      string,
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const label = (o: KubeObject): string | undefined => o.metadata?.labels?.[key];
    if (op === '!=') tests.push((o) => label(o) !== value);
    else if (op) tests.push((o) => label(o) === value);
    else if (not) tests.push((o) => label(o) === undefined);
    else tests.push((o) => label(o) !== undefined);
  }
  for (const term of (fieldSelector ?? '').split(',').filter(Boolean)) {
    const m = /^(metadata\.name|metadata\.namespace)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw new Error(`field label not supported: ${term}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (o: KubeObject) => (field === 'metadata.name' ? o.metadata?.name : o.metadata?.namespace);
    tests.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (object) => tests.every((t) => t(object));
}

/** An EndpointSlice for `service`, in the shape the real API server returns. */
export function endpointSlice(
  namespace: string,
  service: string,
  name: string,
  {
    ports = [{ name: 'http', port: 8080 }],
    endpoints,
    addressType = 'IPv4',
  }: {
    ports?: { name?: string; port: number; protocol?: string }[];
    endpoints: {
      addresses: string[];
      ready?: boolean;
      serving?: boolean;
      terminating?: boolean;
      nodeName?: string;
      zone?: string;
    }[];
    addressType?: string;
  },
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
    endpoints: endpoints.map(({ addresses, ready, serving, terminating, nodeName, zone }) => ({
      addresses,
      conditions: {
        ...(ready === undefined ? {} : { ready }),
        ...(serving === undefined ? {} : { serving }),
        ...(terminating === undefined ? {} : { terminating }),
      },
      ...(nodeName ? { nodeName } : {}),
      ...(zone ? { zone } : {}),
    })),
  };
}

export function service(
  namespace: string,
  name: string,
  ports: { name?: string; port: number; targetPort: number | string }[],
  labels?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { ports: ports.map((p) => ({ protocol: 'TCP', ...p })) },
  };
}
