/**
 * gRPC peers for tests: @grpc/grpc-js servers of the Echo service (test/fixtures/echo.proto)
 * that count what reached them, a health service whose answer a test sets, and a client
 * constructor. Portside itself never uses grpc-js; these are the real peers it must suit.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const loaderOptions = { keepCase: false, longs: Number, defaults: true };
const echoPackage = grpc.loadPackageDefinition(loadSync(join(FIXTURES, 'echo.proto'), loaderOptions));
const healthPackage = grpc.loadPackageDefinition(loadSync(join(FIXTURES, 'health.proto'), loaderOptions));

type ServiceClient = grpc.ServiceClientConstructor;
const EchoService = (echoPackage.portside as grpc.GrpcObject).test as grpc.GrpcObject;
const EchoClientConstructor = EchoService.Echo as ServiceClient;
const HealthClientConstructor = ((healthPackage.grpc as grpc.GrpcObject).health as grpc.GrpcObject)
  .v1 as grpc.GrpcObject;

/** The Echo service's full name, as health checks ask about it. */
export const ECHO_SERVICE = 'portside.test.Echo';

export interface EchoReply {
  text: string;
  server: string;
  seq: number;
  payload: Buffer;
}

/** Health.Check statuses (grpc.health.v1.HealthCheckResponse.ServingStatus). */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface GrpcServer {
  name: string;
  port: number;
  server: grpc.Server;
  /** Unary calls received, and answered. */
  started: number;
  /** While true, unary calls are held unanswered (until cancelled): a wedged server. */
  hang: boolean;
  /** When set, unary and client-streaming calls are answered with this status (after the request). */
  failWith: grpc.status | undefined;
  /** Messages ClientStream received, over all its calls. */
  received: number;
  unary: number;
  /** Calls the server saw cancelled (its `cancelled` event). */
  cancelled: number;
  /** Messages ServerStream handed to grpc-js (written, maybe still queued). */
  streamed: number;
  /** Health.Check calls, and the status each service name answers (absent: SERVICE_UNKNOWN → NOT_FOUND). */
  healthChecks: number;
  health: Map<string, ServingStatus>;
  /** Stops at once: open calls fail, new connections are refused. */
  kill(): void;
  close(): Promise<void>;
}

function sleep(ms: number, call: grpc.ServerUnaryCall<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    call.once('cancelled', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A grpc-js server of Echo and grpc.health.v1.Health on 127.0.0.1, port 0. */
export async function startGrpcServer(name: string): Promise<GrpcServer> {
  const server = new grpc.Server();
  const s: GrpcServer = {
    name,
    port: 0,
    server,
    started: 0,
    hang: false,
    failWith: undefined,
    received: 0,
    unary: 0,
    cancelled: 0,
    streamed: 0,
    healthChecks: 0,
    health: new Map([
      ['', 'SERVING'],
      [ECHO_SERVICE, 'SERVING'],
    ]),
    kill: () => server.forceShutdown(),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a test left open must not hold the shutdown.
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
  const watchCancel = (call: { once(event: 'cancelled', listener: () => void): unknown }) =>
    call.once('cancelled', () => {
      s.cancelled++;
    });
  server.addService((EchoClientConstructor as ServiceClient).service, {
    async Unary(
      call: grpc.ServerUnaryCall<{ text: string; delayMs: number }, EchoReply>,
      done: grpc.sendUnaryData<EchoReply>,
    ) {
      watchCancel(call);
      s.started++;
      // Request metadata whose key starts with x-echo comes back, in the head and the trailers.
      const echoed = new grpc.Metadata();
      for (const [key, values] of Object.entries(call.metadata.getMap()))
        if (key.startsWith('x-echo')) echoed.set(key, values);
      if (Object.keys(echoed.getMap()).length > 0) call.sendMetadata(echoed);
      const { text, delayMs } = call.request;
      if (s.hang) await sleep(2 ** 31 - 1, call);
      else if (delayMs > 0) await sleep(delayMs, call);
      if (call.cancelled) return;
      s.unary++;
      if (s.failWith !== undefined) {
        done({ code: s.failWith, details: `${name} fails` });
        return;
      }
      if (text === 'fail-internal') {
        done({ code: grpc.status.INTERNAL, details: `internal from ${name}` });
        return;
      }
      done(null, { text, server: name, seq: 0, payload: Buffer.alloc(0) }, echoed);
    },
    ServerStream(
      call: grpc.ServerWritableStream<{ count: number; payloadBytes: number; failAfter: number }, EchoReply>,
    ) {
      watchCancel(call);
      const { count, payloadBytes, failAfter } = call.request;
      const payload = Buffer.alloc(payloadBytes, 0x61);
      let seq = 0;
      // Writes while the stream takes them and resumes on drain: flow control, not a flood.
      const pump = () => {
        while (seq < count && !call.cancelled) {
          if (failAfter > 0 && seq === failAfter) {
            call.emit('error', { code: grpc.status.ABORTED, details: 'aborted mid-stream' });
            return;
          }
          const more = call.write({ text: '', server: name, seq: seq++, payload });
          s.streamed++;
          if (!more) {
            call.once('drain', pump);
            return;
          }
        }
        if (!call.cancelled) call.end();
      };
      pump();
    },
    ClientStream(
      call: grpc.ServerReadableStream<{ text: string }, EchoReply>,
      done: grpc.sendUnaryData<EchoReply>,
    ) {
      watchCancel(call);
      let count = 0;
      let text = '';
      call.on('data', (m: { text: string }) => {
        count++;
        s.received++;
        text = m.text;
      });
      call.on('end', () => {
        if (s.failWith !== undefined) done({ code: s.failWith, details: `${name} fails` });
        else done(null, { text, server: name, seq: count, payload: Buffer.alloc(0) });
      });
    },
    Bidi(call: grpc.ServerDuplexStream<{ text: string }, EchoReply>) {
      watchCancel(call);
      let seq = 0;
      call.on('data', (m: { text: string }) => {
        // "ticks N": N replies 100 ms apart, while the client stays quiet.
        const ticks = /^ticks (\d+)$/.exec(m.text);
        if (ticks === null) {
          call.write({ text: m.text, server: name, seq: seq++, payload: Buffer.alloc(0) });
          return;
        }
        let left = Number(ticks[1]);
        const timer = setInterval(() => {
          if (call.cancelled || left-- === 0) clearInterval(timer);
          else call.write({ text: 'tick', server: name, seq: seq++, payload: Buffer.alloc(0) });
        }, 100);
      });
      call.on('end', () => call.end());
    },
  });
  server.addService((HealthClientConstructor.Health as ServiceClient).service, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, done: grpc.sendUnaryData<unknown>) {
      s.healthChecks++;
      const status = s.health.get(call.request.service);
      if (status === undefined) done({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else done(null, { status });
    },
  });
  s.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  return s;
}

export type EchoClient = grpc.Client & {
  Unary(
    request: { text: string; delayMs?: number },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(request: {
    count: number;
    payloadBytes?: number;
    failAfter?: number;
  }): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    callback: (error: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientWritableStream<{
    text: string;
  }>;
  Bidi(): grpc.ClientDuplexStream<{ text: string }, EchoReply>;
};

/** A client of Echo on one channel to 127.0.0.1:`port` (Portside's listener). */
export function echoClient(port: number, options: grpc.ChannelOptions = {}): EchoClient {
  return new EchoClientConstructor(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    options,
  ) as unknown as EchoClient;
}

/** One unary call as a promise: the reply, or the ServiceError (never rejects). */
export function unary(
  client: EchoClient,
  text: string,
  options: { delayMs?: number; deadlineMs?: number } = {},
): Promise<{ reply?: EchoReply; error?: grpc.ServiceError }> {
  const callOptions: grpc.CallOptions = {};
  if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
  return new Promise((resolve) => {
    client.Unary({ text, delayMs: options.delayMs ?? 0 }, new grpc.Metadata(), callOptions, (error, reply) =>
      resolve(error ? { error } : { reply: reply! }),
    );
  });
}

export { grpc };
