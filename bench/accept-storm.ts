/**
 * How long a burst of connects takes to be accepted while the event loop is busy, with one
 * listening socket or several on the same address (`reusePort`, Node ≥ 22.12 on Linux).
 *
 *   node --import tsx bench/accept-storm.ts [--connections 1000] [--turn-ms 2] [--sockets 1,4,16]
 *
 * The server (this process) keeps every loop turn busy for `--turn-ms` (a stand-in for a
 * proxy serving many connections); a child process opens all the connections at once. Printed
 * per socket count: ms from the first accept to the last, and how many each socket took.
 * libuv accepts one connection per listening socket per turn, so expect about
 * connections / sockets × turn-ms.
 */
import { fork } from 'node:child_process';
import { connect, createServer, type ListenOptions, type Server } from 'node:net';
import { parseArgs } from 'node:util';

if (process.argv[2] === 'client') {
  const [port, count] = [Number(process.argv[3]), Number(process.argv[4])];
  for (let i = 0; i < count; i++) connect(port, '127.0.0.1').on('error', () => {});
} else {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '1000' },
      'turn-ms': { type: 'string', default: '2' },
      sockets: { type: 'string', default: '1,4,16' },
    },
  });
  const count = Number(values.connections);
  const turnMs = Number(values['turn-ms']);
  console.log(
    `Node ${process.version}, libuv ${process.versions.uv}; ${count} connects, loop turns of ${turnMs} ms`,
  );
  for (const sockets of values.sockets.split(',').map(Number))
    console.log(await storm(sockets, count, turnMs));
}

async function storm(sockets: number, count: number, turnMs: number): Promise<string> {
  const servers: Server[] = [];
  const perSocket = new Array<number>(sockets).fill(0);
  let first = 0;
  let accepted = 0;
  let onAll: (ms: number) => void = () => {};
  const all = new Promise<number>((resolve) => {
    onAll = resolve;
  });
  let port = 0;
  for (let i = 0; i < sockets; i++) {
    const server = createServer((socket) => {
      if (accepted++ === 0) first = performance.now();
      perSocket[i]!++;
      socket.on('error', () => {});
      if (accepted === count) onAll(performance.now() - first);
    });
    // `reusePort` is in ListenOptions from Node 22.12; these types are Node 20's.
    const options: ListenOptions & { reusePort?: boolean } = { host: '127.0.0.1', port, backlog: 4096 };
    if (sockets > 1) options.reusePort = true;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options, resolve);
    });
    port = (server.address() as { port: number }).port;
    servers.push(server);
  }
  let busy = true;
  const spin = () => {
    const end = performance.now() + turnMs;
    while (performance.now() < end);
    if (busy) setImmediate(spin);
  };
  setImmediate(spin);
  const client = fork(new URL(import.meta.url), ['client', String(port), String(count)], {
    execArgv: process.execArgv,
  });
  const ms = await all;
  busy = false;
  client.kill();
  for (const server of servers) server.close();
  return `${String(sockets).padStart(3)} socket(s): all accepted in ${ms.toFixed(0)} ms (per socket: ${perSocket.join(', ')})`;
}
