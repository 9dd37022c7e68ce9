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

/**
 * Reads until `done(text so far)` holds, or the peer ends or closes the connection; resolves
 * with the text either way, so the caller's assertions say what was missing.
 */
export function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const finish = () => {
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
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
    // With allowHalfOpen the peer's close arrives as 'end' and 'close' waits for our side.
    const closed = () => reject(new Error(`connection closed before a line (got "${buffered}")`));
    socket.once('end', closed);
    socket.once('close', closed);
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
