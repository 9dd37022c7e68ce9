/**
 * Child process: the baselines most Node users deploy today.
 *   naive     — `http-proxy` as its README shows it: no agent, so every request opens a new
 *               upstream connection and the upstream's `connection: close` reaches the client;
 *   keepalive — the same with a keep-alive agent, the first thing a careful user tunes.
 * Usage: http-proxy-server PORT TARGET_URL [naive|keepalive]
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const [port, target, mode = 'naive'] = process.argv.slice(2);
const agent = mode === 'keepalive' ? new Agent({ keepAlive: true, maxSockets: 256 }) : undefined;
const proxy = httpProxy.createProxyServer(agent ? { agent } : {});
proxy.on('error', (_error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res, { target }));
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1');
