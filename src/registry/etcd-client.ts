/**
 * The few etcd v3 calls registration needs, through etcd's JSON gateway (as discovery
 * reads it): POST /v3/<service>/<method> with a JSON body. node:http(s) rather than fetch,
 * so that TLS takes a CA, a client certificate and an SNI name. A request that cannot reach
 * an endpoint (refused, timed out, 5xx) moves on to the next endpoint; the endpoint that
 * answered stays the first choice. With a username, the client fetches a token and fetches
 * a new one when etcd calls it invalid (simple tokens are per member, so after a failover).
 */
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { redactedMessage } from '../core/secrets.js';

export interface EtcdClientOptions {
  endpoints: string[];
  username?: string;
  password?: string;
  timeoutMs: number;
  tls?: { ca?: string; certificate?: string; key?: string; sni?: string; verify: boolean };
}

/** etcd answered, with an error (gRPC code: 5 not found, 16 unauthenticated…). */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly grpcCode: number | undefined,
  ) {
    super(message);
  }
}

const INVALID_TOKEN = 16;
export const GRPC_NOT_FOUND = 5;

export const b64 = (s: string) => Buffer.from(s).toString('base64');

export class EtcdClient {
  private index = 0;
  private token: string | undefined;
  private readonly httpsAgent: HttpsAgent | undefined;
  private readonly httpAgent: HttpAgent | undefined;

  constructor(private readonly options: EtcdClientOptions) {
    const tls = options.tls;
    // Files are read once, at start; a reload builds a new client.
    if (options.endpoints.some((e) => e.startsWith('https:'))) {
      // node:http(s) are loaded by the first client, not at start (see test/unit/start-imports.test.ts).
      this.httpsAgent = new (process.getBuiltinModule('node:https').Agent)({
        keepAlive: true,
        ca: tls?.ca ? readFileSync(tls.ca) : undefined,
        cert: tls?.certificate ? readFileSync(tls.certificate) : undefined,
        key: tls?.key ? readFileSync(tls.key) : undefined,
        servername: tls?.sni,
        rejectUnauthorized: tls?.verify ?? true,
      });
    }
    if (options.endpoints.some((e) => e.startsWith('http:'))) {
      this.httpAgent = new (process.getBuiltinModule('node:http').Agent)({ keepAlive: true });
    }
  }

  /** The endpoint requests go to first. */
  get endpoint(): string {
    return this.options.endpoints[this.index % this.options.endpoints.length]!;
  }

  /** One gateway call, failing over across endpoints; throws EtcdError or the last network error. */
  async call<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    if (this.options.username && !this.token) await this.authenticate();
    try {
      return await this.failover<T>(path, body);
    } catch (error) {
      if (!(error instanceof EtcdError) || error.grpcCode !== INVALID_TOKEN || !this.options.username)
        throw error;
      await this.authenticate();
      return this.failover<T>(path, body);
    }
  }

  close(): void {
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }

  private async authenticate(): Promise<void> {
    this.token = undefined;
    const result = await this.failover<{ token?: string }>('/v3/auth/authenticate', {
      name: this.options.username,
      password: this.options.password ?? '',
    });
    if (!result.token) throw new EtcdError('etcd authenticate: no token in the answer', 200, undefined);
    this.token = result.token;
  }

  private async failover<T>(path: string, body: unknown): Promise<T> {
    const count = this.options.endpoints.length;
    let last: unknown;
    for (let attempt = 0; attempt < count; attempt++) {
      try {
        return (await this.post(this.endpoint, path, body)) as T;
      } catch (error) {
        // etcd answered: another member would answer the same (except when it is unavailable).
        if (error instanceof EtcdError && error.status < 500) throw error;
        last = error;
        this.index = (this.index + 1) % count;
      }
    }
    throw last;
  }

  private post(base: string, path: string, body: unknown): Promise<unknown> {
    const url = new URL(path, base);
    const https = url.protocol === 'https:';
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = process.getBuiltinModule(https ? 'node:https' : 'node:http').request(url, {
        method: 'POST',
        agent: https ? this.httpsAgent : this.httpAgent,
        timeout: this.options.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(this.token ? { authorization: this.token } : {}),
        },
      });
      req.on('timeout', () =>
        req.destroy(new Error(`etcd ${base}${path}: timed out after ${this.options.timeoutMs}ms`)),
      );
      req.on('error', (error) => reject(new Error(`etcd ${base}${path}: ${redactedMessage(error)}`)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) => reject(error));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: { error?: string; message?: string; code?: number } = {};
          try {
            json = JSON.parse(text);
          } catch {
            // An answer that is not JSON (a proxy's error page): reported by status below.
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(json);
          else
            reject(
              new EtcdError(
                `etcd ${path}: HTTP ${status}${json.message ? `: ${json.message}` : ''}`,
                status,
                json.code,
              ),
            );
        });
      });
      req.end(payload);
    });
  }
}
