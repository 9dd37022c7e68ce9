/**
 * Finds what a TLS server name (SNI) selects: a listener's certificate, or a passthrough
 * route. Exact names win over `*.` names; `*.example.com` covers one label
 * (`api.example.com`, not `example.com` nor `a.b.example.com`), as certificates do (RFC 6125).
 */
export class ServerNameTable<T> {
  private readonly exact = new Map<string, T>();
  /** Keyed by the suffix after `*.`. */
  private readonly wildcard = new Map<string, T>();

  /** The first entry given for a name keeps it. */
  add(name: string, value: T): void {
    const lower = name.toLowerCase();
    if (lower.startsWith('*.')) {
      const suffix = lower.slice(2);
      if (!this.wildcard.has(suffix)) this.wildcard.set(suffix, value);
    } else if (!this.exact.has(lower)) this.exact.set(lower, value);
  }

  get size(): number {
    return this.exact.size + this.wildcard.size;
  }

  find(serverName: string | undefined | false): T | undefined {
    if (!serverName) return undefined;
    const name = serverName.toLowerCase();
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.wildcard.get(name.slice(dot + 1)) : undefined;
  }
}
