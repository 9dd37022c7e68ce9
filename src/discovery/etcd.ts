/**
 * A registry with TTL leases: each key under `prefix` in etcd is one endpoint instance,
 * written by the instance (or its sidecar) with a lease; when the instance stops renewing,
 * etcd deletes the key and the endpoint disappears. Uses etcd's v3 JSON gateway (range +
 * watch), so no gRPC stack is needed. On any failure the last good snapshot keeps serving
 * (static stability) and the source re-lists with capped exponential backoff.
 */
import { parseAddress } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { redactedMessage } from '../core/secrets.js';
import type { DiscoveredEndpoint, DiscoverySource } from './source.js';

export interface EtcdSourceOptions {
  /** Client URLs, e.g. http://127.0.0.1:2379; tried in turn when one fails. */
  endpoints: string[];
  /** Key prefix; every key below it is one endpoint, e.g. /services/orders/. */
  prefix: string;
  /** Port used when a registered value has none. */
  defaultPort?: number;
  /** Per-request timeout for list calls. */
  requestTimeoutMs?: number;
  maxBackoffMs?: number;
  /** etcd authentication: a token is fetched before each list and sent with list and watch. */
  username?: string;
  password?: string;
}

interface KeyValue {
  key?: string;
  value?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : '');

/** The key just past every key with this prefix (etcd's range_end for a prefix scan). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i]!++;
      return bytes.subarray(0, i + 1).toString('base64');
    }
  }
  return b64('\0');
}

/**
 * Reads one registered value: `host:port`, or JSON `{ "address", "weight", "node", "zone",
 * "ready" }`. Returns an error message for anything else.
 */
export function parseRegistration(value: string, defaultPort?: number): DiscoveredEndpoint | string {
  let record: { address?: unknown; weight?: unknown; node?: unknown; zone?: unknown; ready?: unknown };
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      record = JSON.parse(text);
    } catch {
      return 'value is not valid JSON';
    }
  } else record = { address: text };
  if (typeof record.address !== 'string' && typeof record.address !== 'number') return 'missing "address"';
  let address = String(record.address);
  if (defaultPort && !/:\d+$/.test(address)) address = `${address}:${defaultPort}`;
  const parsed = parseAddress(address);
  if (!parsed.ok) return parsed.message;
  const weight = record.weight === undefined ? 1 : Number(record.weight);
  if (!Number.isInteger(weight) || weight < 1) return `invalid weight ${JSON.stringify(record.weight)}`;
  return {
    host: parsed.value.host,
    port: parsed.value.port,
    weight,
    locality: {
      node: typeof record.node === 'string' ? record.node : undefined,
      zone: typeof record.zone === 'string' ? record.zone : undefined,
    },
    ready: record.ready === false ? false : undefined,
  };
}

export class EtcdSource implements DiscoverySource {
  synced = false;
  /** Why the last attempt failed, while the source is serving its last good snapshot. */
  lastError: string | undefined;
  readonly description: string;
  private readonly entries = new Map<string, DiscoveredEndpoint>();
  private readonly abort = new AbortController();
  private endpointIndex = 0;
  private failures = 0;
  private headers: Record<string, string> = {};

  constructor(
    private readonly options: EtcdSourceOptions,
    private readonly log: Logger,
  ) {
    this.description = `etcd ${options.prefix}`;
  }

  /** Serving the last good snapshot while etcd cannot be reached. */
  get stale(): boolean {
    return this.synced && this.lastError !== undefined;
  }

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    void this.run(onSnapshot);
  }

  stop(): void {
    this.abort.abort();
  }

  private get baseUrl(): string {
    return this.options.endpoints[this.endpointIndex % this.options.endpoints.length]!.replace(/\/$/, '');
  }

  private async run(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): Promise<void> {
    const emit = () => onSnapshot([...this.entries.values()]);
    while (!this.abort.signal.aborted) {
      try {
        const revision = await this.list();
        emit();
        this.synced = true;
        this.failures = 0;
        this.lastError = undefined;
        await this.watch(revision + 1, emit);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        // fetch's errors quote the URL, credentials included: hide them before storing or logging.
        this.lastError = redactedMessage(error);
        this.failures++;
        this.endpointIndex++;
        const delay = Math.min(this.options.maxBackoffMs ?? 10_000, 100 * 2 ** Math.min(this.failures, 10));
        this.log.warn(
          { source: this.description, err: this.lastError, retryInMs: delay, endpoints: this.entries.size },
          'etcd discovery failed; serving the last known endpoints',
        );
        await new Promise((resolve) => setTimeout(resolve, delay * (0.8 + Math.random() * 0.4)));
      }
    }
  }

  /** Replaces the entries with a fresh range read; returns the store revision it saw. */
  private async list(): Promise<number> {
    await this.authenticate();
    const response = await fetch(`${this.baseUrl}/v3/kv/range`, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({ key: b64(this.options.prefix), range_end: prefixRangeEnd(this.options.prefix) }),
      signal: AbortSignal.any([
        this.abort.signal,
        AbortSignal.timeout(this.options.requestTimeoutMs ?? 5000),
      ]),
    });
    if (!response.ok) throw new Error(`etcd range: HTTP ${response.status}`);
    const body = (await response.json()) as { header?: { revision?: string }; kvs?: KeyValue[] };
    this.entries.clear();
    for (const kv of body.kvs ?? []) this.put(kv);
    return Number(body.header?.revision ?? 0);
  }

  /**
   * A fresh token per list: simple tokens expire and belong to one member, and every
   * failure (an expired token included) ends in a re-list, possibly on another endpoint.
   */
  private async authenticate(): Promise<void> {
    this.headers = {};
    if (!this.options.username) return;
    const response = await fetch(`${this.baseUrl}/v3/auth/authenticate`, {
      method: 'POST',
      body: JSON.stringify({ name: this.options.username, password: this.options.password ?? '' }),
      signal: AbortSignal.any([
        this.abort.signal,
        AbortSignal.timeout(this.options.requestTimeoutMs ?? 5000),
      ]),
    });
    const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
    if (!response.ok || !body.token)
      throw new Error(`etcd authenticate: HTTP ${response.status}${body.message ? `: ${body.message}` : ''}`);
    this.headers = { authorization: body.token };
  }

  private put(kv: KeyValue): void {
    const key = unb64(kv.key);
    const parsed = parseRegistration(unb64(kv.value), this.options.defaultPort);
    if (typeof parsed === 'string') {
      this.log.warn({ source: this.description, key, err: parsed }, 'skipping malformed etcd registration');
      this.entries.delete(key);
    } else this.entries.set(key, parsed);
  }

  /** Streams changes until the watch ends or fails (which throws, so the caller re-lists). */
  private async watch(fromRevision: number, emit: () => void): Promise<void> {
    const response = await fetch(`${this.baseUrl}/v3/watch`, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({
        create_request: {
          key: b64(this.options.prefix),
          range_end: prefixRangeEnd(this.options.prefix),
          start_revision: String(fromRevision),
        },
      }),
      signal: this.abort.signal,
    });
    if (!response.ok || !response.body) throw new Error(`etcd watch: HTTP ${response.status}`);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (line) this.applyWatchMessage(line, emit);
      }
    }
    throw new Error('etcd watch stream ended');
  }

  private applyWatchMessage(line: string, emit: () => void): void {
    const message = JSON.parse(line) as {
      result?: { canceled?: boolean; compact_revision?: string; events?: { type?: string; kv?: KeyValue }[] };
      error?: { message?: string };
    };
    if (message.error) throw new Error(`etcd watch: ${message.error.message ?? 'error'}`);
    const result = message.result;
    if (!result) return;
    if (result.canceled)
      throw new Error(`etcd watch canceled (compacted at ${result.compact_revision ?? '?'})`);
    if (!result.events?.length) return;
    for (const event of result.events) {
      if (event.type === 'DELETE') this.entries.delete(unb64(event.kv?.key));
      else if (event.kv) this.put(event.kv);
    }
    emit();
  }
}
