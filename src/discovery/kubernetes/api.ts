/**
 * A lean Kubernetes API client for the two calls discovery makes: a paginated list and a
 * watch stream. One keep-alive agent per API server, so lists reuse one connection and each
 * watch holds one; no per-request client objects. Watch lines are handed to the caller as
 * parsed JSON one by one, and turned into compact records there.
 *
 * Credentials are read per request: a token file is re-read when it changed (projected
 * service-account tokens rotate about hourly), and a kubeconfig that needs an auth plugin
 * asks @kubernetes/client-node (loaded only then) for the current header.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { ApiServerAccess } from './kubeconfig.js';

export type Query = Record<string, string | number | boolean | undefined>;

/** A failed call, with the HTTP status when the server answered. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A watch that sent nothing for its idle time: resume it, the data so far is good. */
export class WatchIdleError extends KubeApiError {}

/** Watch answers ended for being idle (weak: they go with their answers). */
const idleAnswers = new WeakSet<IncomingMessage>();

/** A page of a list: raw items (each parsed by the caller) and where the list continues. */
export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken: string | undefined;
}

interface Credentials {
  authorization?: string;
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** Credentials from an auth plugin, through client-node (exec, OIDC and other providers). */
type PluginCredentials = () => Promise<Credentials>;

export class KubeApi {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;
  private readonly url: URL;
  private token: { file: string; mtimeMs: number; value: string } | undefined;
  private plugin: PluginCredentials | undefined;
  private readonly requests = new Set<{ destroy(error?: Error): void }>();
  /**
   * Bounds the lists in flight: many per-Service watches starting (or re-listing after an API
   * server restart) at once would otherwise open as many connections together.
   */
  readonly lists = new ConcurrencyLimit(32);
  private closed = false;

  constructor(readonly access: ApiServerAccess) {
    this.url = new URL(access.server);
    this.secure = this.url.protocol === 'https:';
    // Watches hold a socket each; lists share what is idle. No socket limit: every watch of
    // this server must be able to connect.
    const options = { keepAlive: true, keepAliveMsecs: 30_000, scheduling: 'lifo' as const };
    // node:http(s) are loaded by the first API server, not at start (see test/unit/start-imports.test.ts).
    this.agent = new (process.getBuiltinModule(this.secure ? 'node:https' : 'node:http').Agent)(options);
  }

  get server(): string {
    return this.access.server;
  }

  /** One page of a collection. */
  async listPage(path: string, query: Query, signal: AbortSignal): Promise<ListPage> {
    const response = await this.get(path, query, signal);
    const body = await readBody(response);
    let list: { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
    try {
      list = JSON.parse(body);
    } catch {
      throw new KubeApiError(`list ${path}: the answer is not JSON`);
    }
    const continueToken = list.metadata?.continue;
    return {
      items: Array.isArray(list.items) ? list.items : [],
      resourceVersion: String(list.metadata?.resourceVersion ?? ''),
      continueToken: typeof continueToken === 'string' && continueToken !== '' ? continueToken : undefined,
    };
  }

  /**
   * Streams a watch: `onEvent` gets each line's JSON (a line that is not JSON is passed as
   * undefined). Resolves when the server ends the stream; rejects on a failure or when
   * `idleMs` pass without a byte. `signal` ends it at once.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: unknown) => void,
    idleMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.get(path, { ...query, watch: true }, signal, idleMs);
    return new Promise((resolve, reject) => {
      let pending = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() !== '') onEvent(parseLine(line));
          newline = pending.indexOf('\n');
        }
      });
      const idle = () => new WatchIdleError(`no data for ${idleMs} ms (watch timeout)`);
      response.on('end', () => resolve());
      response.on('error', (error) =>
        reject(idleAnswers.has(response) ? idle() : describeTransportError(error, this.server)),
      );
      response.on('close', () => {
        if (response.complete) return;
        reject(idleAnswers.has(response) ? idle() : new KubeApiError('watch stream closed before its end'));
      });
    });
  }

  /** Aborts every request in flight and closes every connection (shutdown). */
  close(): void {
    this.closed = true;
    for (const request of this.requests) request.destroy(new KubeApiError('client closed'));
    this.requests.clear();
    this.agent.destroy();
  }

  private async credentials(): Promise<Credentials> {
    const { access } = this;
    if (access.pluginKubeconfig) {
      this.plugin ??= await pluginCredentials(access.pluginKubeconfig);
      return this.plugin();
    }
    if (access.token) return { authorization: `Bearer ${access.token}` };
    if (access.tokenFile) return { authorization: `Bearer ${this.readToken(access.tokenFile)}` };
    if (access.basicAuth)
      return { authorization: `Basic ${Buffer.from(access.basicAuth).toString('base64')}` };
    return {};
  }

  /** The token file's content, re-read when its modification time changed or after a 401. */
  private readToken(file: string): string {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch (error) {
      throw new KubeApiError(`token file ${file}: ${(error as Error).message}`);
    }
    if (this.token?.file !== file || this.token.mtimeMs !== mtimeMs) {
      this.token = { file, mtimeMs, value: readFileSync(file, 'utf8').trim() };
    }
    return this.token.value;
  }

  private async get(
    path: string,
    query: Query,
    signal: AbortSignal | undefined,
    idleMs?: number,
  ): Promise<IncomingMessage> {
    if (this.closed) throw new KubeApiError('client closed');
    const credentials = await this.credentials();
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) search.set(name, String(value));
    const prefix = this.url.pathname.replace(/\/+$/, '');
    const options: RequestOptions = {
      method: 'GET',
      protocol: this.url.protocol,
      hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || (this.secure ? 443 : 80),
      path: `${prefix}${path}?${search}`,
      agent: this.agent,
      headers: {
        accept: 'application/json',
        ...(credentials.authorization ? { authorization: credentials.authorization } : {}),
      },
    };
    if (this.secure) {
      const { access } = this;
      if (access.ca) options.ca = access.ca;
      if (credentials.cert ?? access.cert) options.cert = credentials.cert ?? access.cert;
      if (credentials.key ?? access.key) options.key = credentials.key ?? access.key;
      if (access.tlsServerName) options.servername = access.tlsServerName;
      options.rejectUnauthorized = !access.insecureSkipTlsVerify;
    }
    const send = process.getBuiltinModule(this.secure ? 'node:https' : 'node:http').request;
    return new Promise((resolve, reject) => {
      const request = send(options);
      this.requests.add(request);
      const abort = () =>
        request.destroy(signal?.reason instanceof KubeApiError ? signal.reason : new KubeApiError('aborted'));
      if (signal?.aborted) abort();
      signal?.addEventListener('abort', abort, { once: true });
      request.on('close', () => {
        this.requests.delete(request);
        signal?.removeEventListener('abort', abort);
      });
      let answer: IncomingMessage | undefined;
      if (idleMs !== undefined) {
        // Before the answer, silence is a failure; after it, a quiet stream to resume (the
        // stream then fails with a plain "aborted": the answer is marked to tell them apart).
        request.setTimeout(idleMs, () => {
          if (answer) idleAnswers.add(answer);
          request.destroy(new KubeApiError(`no answer for ${idleMs} ms`));
        });
      }
      request.on('error', (error) => reject(describeTransportError(error, this.server)));
      request.on('response', (response) => {
        answer = response;
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(response);
        // The token may have rotated within the file's timestamp granularity: read it again.
        if (status === 401) this.token = undefined;
        readBody(response).then(
          (body) => reject(statusError(status, body, path)),
          (error) => reject(describeTransportError(error, this.server)),
        );
      });
      request.end();
    });
  }
}

/** Runs at most `limit` calls at once; the others wait their turn, in order. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await call();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

/** An HTTP error with the Status message the API server sent, and what to check. */
function statusError(status: number, body: string, path: string): KubeApiError {
  let message = '';
  try {
    message = String(JSON.parse(body)?.message ?? '');
  } catch {
    message = body.slice(0, 200);
  }
  const hint =
    status === 401
      ? 'the API server refused the credentials (check the token or client certificate)'
      : status === 403
        ? 'not allowed (RBAC needs get/list/watch on endpointslices and services)'
        : `HTTP ${status}`;
  return new KubeApiError(`${hint}: ${message || path} (${status})`, status);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeTransportError(error: unknown, server: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code && TLS_CODES.has(e.code)) {
    return new KubeApiError(
      `TLS: the certificate of ${server} is not trusted (${e.code}); check certificate-authority in the kubeconfig`,
    );
  }
  return new KubeApiError(`${server}: ${e.code ? `${e.code} ` : ''}${e.message}`.trim());
}

/** Loads client-node for a kubeconfig whose user runs an auth plugin. */
async function pluginCredentials(file: string): Promise<PluginCredentials> {
  const { loadKubernetesClient } = await import('./client.js');
  const k8s = await loadKubernetesClient();
  const config = new k8s.KubeConfig();
  config.loadFromFile(file);
  // `applyOptions` is private in the typings; it runs the plugin (cached by the library until
  // the credential expires) and sets the header and any client certificate it returned.
  const apply = (config as unknown as { applyOptions(o: Record<string, unknown>): Promise<void> })
    .applyOptions;
  return async () => {
    const options: { headers?: Record<string, string>; cert?: Buffer; key?: Buffer } = { headers: {} };
    await apply.call(config, options);
    return {
      ...(options.headers?.Authorization ? { authorization: options.headers.Authorization } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
    };
  };
}
