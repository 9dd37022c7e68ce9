import { request } from 'node:http';

export interface AdminReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request to an admin `host:port` with the headers given verbatim, `Host` included
 * (fetch fills in Host itself): for the DNS-rebinding and cross-origin checks.
 */
export function adminRequest(
  address: string,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<AdminReply> {
  const url = new URL(`http://${address}`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
