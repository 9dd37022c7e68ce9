/**
 * The gRPC health check: `grpc.health.v1.Health/Check` over h2c, on a fresh connection
 * each time (as the HTTP check is), healthy when the answer is SERVING. The two messages
 * are one field each, so they are encoded here by hand rather than with a protobuf
 * library: the request is field 1 (string service), the response field 1 (enum status).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { GrpcCheckConfig } from '../config/health-schema.js';
import { bounded, type Probe, socketFailure } from './probes.js';

const CHECK_PATH = '/grpc.health.v1.Health/Check';

/** HealthCheckResponse.ServingStatus names, as failure reasons say them. */
const SERVING_STATUS = ['unknown', 'serving', 'not-serving', 'service-unknown'];
const SERVING = 1;

/** The request message in its gRPC frame (uncompressed flag, 4-byte length, message). */
export function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const message =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/**
 * The serving status in a response body (its gRPC frame); undefined when the body is not
 * one uncompressed frame holding a valid message. A message without field 1 is UNKNOWN (0).
 */
export function servingStatusOf(body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return undefined;
  let status = 0;
  let at = 5;
  const readVarint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35 && at < body.length; shift += 7) {
      const byte = body[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (at < body.length) {
    const key = readVarint();
    if (key === undefined) return undefined;
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0: {
        const value = readVarint();
        if (value === undefined) return undefined;
        if (field === 1) status = value;
        break;
      }
      case 1:
        at += 8;
        break;
      case 2: {
        const size = readVarint();
        if (size === undefined) return undefined;
        at += size;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        return undefined;
    }
  }
  return at === body.length ? status : undefined;
}

/** Healthy when Health/Check for `service` answers grpc-status 0 and SERVING within the timeout. */
export function grpcProbe(config: GrpcCheckConfig): Probe {
  const body = healthCheckRequest(config.service);
  return (endpoint, timeoutMs, signal) =>
    bounded(timeoutMs, signal, (finish) => {
      // node:http2 is loaded by the first gRPC check, not at start (as node:http is for HTTP checks).
      const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
      const session = process.getBuiltinModule('node:http2').connect(`http://${host}:${endpoint.port}`, {
        settings: { enablePush: false },
      });
      session.on('error', (error) => finish({ ok: false, reason: socketFailure(error) }));
      const req = session.request({
        ':method': 'POST',
        ':path': CHECK_PATH,
        ':authority': config.authority ?? endpoint.id,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
        'user-agent': 'portside-health-check',
      });
      let head: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const parts: Buffer[] = [];
      req.on('response', (headers) => {
        head = headers;
      });
      req.on('trailers', (headers) => {
        trailers = headers;
      });
      req.on('data', (chunk: Buffer) => {
        if (parts.length < 16) parts.push(chunk);
      });
      req.on('error', (error) => finish({ ok: false, reason: socketFailure(error) }));
      req.on('end', () => finish(verdict(head, trailers, Buffer.concat(parts))));
      req.on('close', () => finish({ ok: false, reason: `reset-${req.rstCode ?? 0}` }));
      req.end(body);
      return () => session.destroy();
    });
}

function verdict(head: IncomingHttpHeaders, trailers: IncomingHttpHeaders, body: Buffer) {
  const status = Number(head[':status']);
  if (status !== 200) return { ok: false as const, reason: `http-${status}` };
  // Trailers-only answers (errors) carry grpc-status in the head.
  const grpcStatus = trailers['grpc-status'] ?? head['grpc-status'];
  if (grpcStatus === undefined) return { ok: false as const, reason: 'grpc-no-status' };
  if (grpcStatus !== '0') return { ok: false as const, reason: `grpc-status-${grpcStatus}` };
  const serving = servingStatusOf(body);
  if (serving === undefined) return { ok: false as const, reason: 'grpc-bad-response' };
  if (serving === SERVING) return { ok: true as const };
  return { ok: false as const, reason: `grpc-${SERVING_STATUS[serving] ?? `status-${serving}`}` };
}
