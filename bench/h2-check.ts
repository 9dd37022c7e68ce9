/**
 * The start-up check of an HTTP/2 target: over one h2c connection, `GET /small` must answer
 * 200 and a gRPC unary call must come back with the upstream's framed reply and
 * `grpc-status: 0` in trailers. h2load counts only status codes, so this is what proves a
 * target forwards gRPC correctly (body and trailers) before its figures are taken.
 */
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from 'node:http2';
import { GRPC_PATH, GRPC_REPLY, GRPC_REQUEST } from './grpc-frames.js';

interface Answer {
  status: number;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

function call(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (head) => {
      status = Number(head[':status']);
    });
    stream.on('trailers', (fields) => {
      trailers = fields;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks), trailers }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

export async function checkH2(name: string, port: number): Promise<void> {
  const session = connect(`http://127.0.0.1:${port}`);
  const failed = new Promise<never>((_, reject) => {
    session.once('error', (error) => reject(new Error(`${name}: HTTP/2 check failed: ${error.message}`)));
    setTimeout(() => reject(new Error(`${name}: HTTP/2 check timed out`)), 5000).unref();
  });
  try {
    const small = await Promise.race([call(session, { ':path': '/small' }), failed]);
    if (small.status !== 200) throw new Error(`${name}: h2c GET /small answered ${small.status}`);
    const grpcHeaders = {
      ':method': 'POST',
      ':path': GRPC_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    const grpc = await Promise.race([call(session, grpcHeaders, GRPC_REQUEST), failed]);
    if (grpc.status !== 200 || !grpc.body.equals(GRPC_REPLY) || grpc.trailers['grpc-status'] !== '0') {
      const trailers = JSON.stringify(grpc.trailers);
      throw new Error(
        `${name}: gRPC call answered ${grpc.status}, ${grpc.body.length} bytes, trailers ${trailers}`,
      );
    }
  } finally {
    session.destroy();
  }
}
