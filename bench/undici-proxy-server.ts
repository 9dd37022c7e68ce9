/**
 * Child process: the floor for a Node L7 proxy built the way Portside's is (node:http server,
 * undici Pool, the dispatch-handler API) but with no features at all: no routing, retries,
 * timeouts, x-forwarded-*, request ids or stats. Portside's distance to this row is what its
 * own features cost; this row's distance to nginx is what Node costs.
 * Usage: undici-proxy-server PORT TARGET_URL
 */
import { createServer } from 'node:http';
import { type Dispatcher, Pool } from 'undici';

const [port, target] = process.argv.slice(2);
const pool = new Pool(target!, { connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

const server = createServer((req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding') hasBody = true;
    if (!HOP.has(name)) headers.push(name, raw[i + 1]!);
  }
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onError() {
      if (!res.headersSent) res.statusCode = 502;
      res.end();
    },
    onHeaders(status, rawHeaders, resume) {
      // undici pauses when onData returns false and waits for this resume.
      res.on('drain', resume);
      const out: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toString('latin1').toLowerCase();
        if (!HOP.has(name)) out.push(name, rawHeaders[i + 1]!.toString('latin1'));
      }
      res.writeHead(status, out);
      return true;
    },
    onData(chunk) {
      return res.write(chunk);
    },
    onComplete() {
      res.end();
    },
  };
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    },
    handler,
  );
});
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1');
