/**
 * Two readers of the same HTTP/1.1 bytes, for the differential test: Portside's codec
 * (through one small adapter per direction, so only these change when the codec's API
 * moves) and Node's llhttp (a real `node:http` server or client on 127.0.0.1, strict
 * parser, Node's defaults otherwise). Both report an Outcome in the same shape.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { BODY_ERROR, BODY_MORE, type BodyFramer, LengthFramer } from '../../src/l7/h1/body-framer.js';
import { ChunkedScanner } from '../../src/l7/h1/chunked.js';
import { HeadReader } from '../../src/l7/h1/head-reader.js';
import { BodyKind, ResponseHeadReader } from '../../src/l7/h1/response-head.js';
import { startTcpServer, type TestServer } from './servers.js';

/** One message a reader delivered whole (head and complete body). */
export interface Message {
  /** Requests: method and target; responses: status. */
  method?: string;
  target?: string;
  status?: number;
  /** Field lines in order, names lower-cased, values without surrounding whitespace. */
  headers: [string, string][];
  /** The body as decoded (chunk data only), latin1. */
  body: string;
  /** A protocol switch: the bytes after this head are not HTTP, so reading stops. */
  upgrade?: boolean;
}

/**
 * What a reader made of the bytes: the messages it delivered whole, then how the input
 * ended: `clean` (nothing left but empty lines), `error` (refused, or a partial message at
 * the end), `closed` (bytes after a message that closes the connection).
 */
export interface Outcome {
  messages: Message[];
  end: 'clean' | 'error' | 'closed';
  /** Why, for the report (not compared). */
  reason?: string;
}

/** Maximum head size on both sides (Portside's default, and Node's). */
export const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADERS = 1000;

const pairs = (fields: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) out.push([fields[i]!.toLowerCase(), fields[i + 1]!]);
  return out;
};

/** Collects chunk data. */
class Collect {
  parts: Buffer[] = [];
  chunkData(buf: Buffer, start: number, end: number): void {
    this.parts.push(Buffer.from(buf.subarray(start, end)));
  }
  text(): string {
    return Buffer.concat(this.parts).toString('latin1');
  }
}

/** Runs a body framer over `buf` from `pos`: the body and the index past it, or an ending. */
function readBody(
  framer: BodyFramer,
  collect: Collect | null,
  buf: Buffer,
  pos: number,
): { body: string; next: number } | 'error' | 'partial' {
  const stop = framer.scan(buf, pos, buf.length);
  if (stop === BODY_ERROR) return 'error';
  if (stop === BODY_MORE) return 'partial';
  return { body: collect !== null ? collect.text() : buf.toString('latin1', pos, stop), next: stop };
}

/** The adapter for requests: Portside's head reader and body framers, as the connection uses them. */
export function portsideParseRequests(bytes: Buffer): Outcome {
  const messages: Message[] = [];
  let buf = bytes;
  for (;;) {
    const reader = new HeadReader(MAX_HEADER_BYTES, MAX_HEADERS);
    const head = reader.read(buf);
    if (head === undefined) {
      if (reader.error !== undefined) return { messages, end: 'error', reason: reader.reason };
      // A stray CR or LF at the very end is no message (llhttp skips them too).
      return onlyLineEnds(buf.subarray(reader.start))
        ? { messages, end: 'clean' }
        : { messages, end: 'error', reason: 'partial head' };
    }
    const message: Message = {
      method: head.method,
      target: head.target,
      headers: pairs(head.fields),
      body: '',
    };
    if (head.isUpgrade) {
      messages.push({ ...message, upgrade: true });
      return { messages, end: 'clean' };
    }
    let next = reader.end;
    if (head.hasBody) {
      const collect = head.chunked ? new Collect() : null;
      const framer = head.chunked
        ? new ChunkedScanner(collect)
        : new LengthFramer().reset(head.contentLength);
      const body = readBody(framer, collect, buf, next);
      if (body === 'error') return { messages, end: 'error', reason: 'malformed body' };
      if (body === 'partial') return { messages, end: 'error', reason: 'partial body' };
      message.body = body.body;
      next = body.next;
    }
    messages.push(message);
    buf = buf.subarray(next);
    if (!head.keepAlive) return { messages, end: onlyLineEnds(buf) ? 'clean' : 'closed' };
  }
}

/** The adapter for responses: Portside's response head reader and framing for `method`. */
export function portsideParseResponse(bytes: Buffer, method: string): Outcome {
  const reader = new ResponseHeadReader();
  const head = reader.read(bytes, bytes.length);
  if (head === undefined) {
    return { messages: [], end: 'error', reason: reader.error ?? 'partial head' };
  }
  const message: Message = { status: head.status, headers: pairs(head.fields), body: '' };
  const kind = head.bodyKind(method);
  const buf = reader.buffer.subarray(0, reader.limit);
  let next = reader.bodyStart;
  if (kind === BodyKind.close) {
    message.body = buf.toString('latin1', next);
    return { messages: [message], end: 'clean' };
  }
  if (kind !== BodyKind.none) {
    const collect = kind === BodyKind.chunked ? new Collect() : null;
    const framer =
      kind === BodyKind.chunked ? new ChunkedScanner(collect) : new LengthFramer().reset(head.contentLength);
    const body = readBody(framer, collect, buf, next);
    if (body === 'error') return { messages: [], end: 'error', reason: 'malformed body' };
    if (body === 'partial') return { messages: [], end: 'error', reason: 'partial body' };
    message.body = body.body;
    next = body.next;
  }
  // Bytes after a complete response are the upstream's mistake, not part of this one.
  return { messages: [message], end: next < buf.length ? 'closed' : 'clean' };
}

function onlyLineEnds(buf: Buffer): boolean {
  for (const byte of buf) if (byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}

/** Node's llhttp as a server: feeds request bytes on a fresh connection, reports what it delivered. */
export class NodeRequestOracle {
  private server: Server | undefined;
  private port = 0;
  private current: Outcome | undefined;
  /** Messages in the order llhttp parsed their heads; `done` once the whole message was read. */
  private seen: { message: Message; done: boolean }[] = [];

  async start(): Promise<void> {
    // requireHostHeader is Node's check above llhttp: off, so the Host rules compare as the parser's.
    const server = createServer({
      insecureHTTPParser: false,
      maxHeaderSize: MAX_HEADER_BYTES,
      requireHostHeader: false,
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const message: Message = {
        method: req.method,
        target: req.url,
        headers: pairs(req.rawHeaders),
        body: '',
      };
      const entry = { message, done: false };
      this.seen.push(entry);
      req.on('data', (chunk: Buffer) => (message.body += chunk.toString('latin1')));
      req.on('end', () => {
        entry.done = true;
        res.end();
      });
    };
    server.on('request', onRequest);
    // Node answers an Expect it does not know with 417 before any request event: not llhttp's doing.
    server.on('checkExpectation', onRequest);
    const upgrade = (req: IncomingMessage, socket: Socket) => {
      const message = { method: req.method, target: req.url, headers: pairs(req.rawHeaders), body: '' };
      this.seen.push({ message: { ...message, upgrade: true }, done: true });
      setImmediate(() => socket.destroy());
    };
    server.on('upgrade', upgrade);
    server.on('connect', upgrade);
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      const outcome = this.current;
      if (outcome !== undefined && outcome.end === 'clean') {
        outcome.end = error.code === 'HPE_CLOSED_CONNECTION' ? 'closed' : 'error';
        outcome.reason = `${error.code}: ${error.message}`;
      }
      // After the events of the messages completed before the error (they are queued).
      setImmediate(() => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** Sends `bytes`, half-closes, and waits until the server has closed the connection. */
  async parse(bytes: Buffer): Promise<Outcome> {
    const outcome: Outcome = { messages: [], end: 'clean' };
    this.current = outcome;
    this.seen = [];
    await new Promise<void>((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1', () => socket.end(bytes));
      socket.on('data', () => {});
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      socket.setTimeout(10_000, () => {
        socket.destroy();
        reject(new Error('the node:http server neither answered nor closed in 10 s'));
      });
    });
    // Events queued before the close (a body's end) still count.
    await new Promise((resolve) => setImmediate(resolve));
    for (const { message, done } of this.seen) {
      if (!done) break;
      outcome.messages.push(message);
    }
    this.seen = [];
    this.current = undefined;
    return outcome;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Node's llhttp as a client: a raw server writes the response bytes, `http.request` reads them. */
export class NodeResponseOracle {
  private server: TestServer | undefined;
  private response: Buffer = Buffer.alloc(0);

  async start(): Promise<void> {
    this.server = await startTcpServer((socket) => {
      const response = this.response;
      // Answer once the request head is in, then close: the end of a close-delimited body.
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('\r\n\r\n')) socket.end(response);
      });
    });
  }

  async parse(bytes: Buffer, method: string): Promise<Outcome> {
    this.response = bytes;
    const outcome: Outcome = { messages: [], end: 'clean' };
    await new Promise<void>((resolve) => {
      let message: Message | undefined;
      let response: IncomingMessage | undefined;
      let settled = false;
      const finish = (error?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A response llhttp completed counts, even if bytes after it then failed the socket.
        if (response?.complete && message !== undefined) outcome.messages.push(message);
        else {
          outcome.end = 'error';
          outcome.reason = error ?? 'incomplete response';
        }
        resolve();
      };
      const timer = setTimeout(() => {
        req.destroy();
        finish('no response in 10 s');
      }, 10_000);
      const req = request(
        {
          host: '127.0.0.1',
          port: this.server!.port,
          method,
          path: '/',
          agent: false,
          insecureHTTPParser: false,
        },
        (res) => {
          response = res;
          const m: Message = { status: res.statusCode, headers: pairs(res.rawHeaders), body: '' };
          message = m;
          res.on('data', (chunk: Buffer) => (m.body += chunk.toString('latin1')));
          res.on('end', () => finish());
          res.on('close', () => finish());
          res.on('error', () => {});
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // Bytes after a complete response fail the request too: wait for its end.
        if (response?.complete) return;
        finish(`${error.code}: ${error.message}`);
      });
      req.on('close', () => {
        if (response === undefined) finish('closed without a response');
      });
      req.end();
    });
    return outcome;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }
}
