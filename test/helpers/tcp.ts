import { connect, type Socket } from 'node:net';

export function openConnection(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, allowHalfOpen: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves with everything the peer sends until it ends its side. */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Resolves with the first line the peer sends. */
export function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (c: Buffer) => {
      buffered += c.toString();
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        socket.off('data', onData);
        resolve(buffered.slice(0, nl));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`connection closed before a line (got "${buffered}")`)));
  });
}

/** Connects, sends `data`, half-closes, and returns the whole reply. */
export async function exchange(port: number, data: string | Buffer): Promise<Buffer> {
  const socket = await openConnection(port);
  const reply = readAll(socket);
  socket.end(data);
  const result = await reply;
  socket.destroy();
  return result;
}

/** Which named server (see startNamedServer) a new connection reaches. */
export async function whoAnswers(port: number): Promise<string> {
  const socket = await openConnection(port);
  try {
    return await readLine(socket);
  } finally {
    socket.destroy();
  }
}
