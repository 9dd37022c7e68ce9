/**
 * HTTP responses by status code and method, counted on the request path as plain numbers
 * and read by the admin API at scrape time. Methods are the client's choice, so only the
 * standard ones (RFC 9110, PATCH) are kept by name: any other counts as OTHER and no client
 * can grow the metrics without bound. Status 0 is a request that got no response (the
 * client went away first).
 */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export class ResponseCounts {
  private readonly byCode = new Map<number, Record<string, number>>();

  count(status: number, method: string): void {
    let row = this.byCode.get(status);
    if (row === undefined) {
      row = Object.create(null) as Record<string, number>;
      this.byCode.set(status, row);
    }
    const name = METHODS.has(method) ? method : 'OTHER';
    row[name] = (row[name] ?? 0) + 1;
  }

  /** [code, method, count] for each pair seen. */
  entries(): [number, string, number][] {
    const out: [number, string, number][] = [];
    for (const [code, row] of this.byCode) for (const method in row) out.push([code, method, row[method]!]);
    return out;
  }
}
