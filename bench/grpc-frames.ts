/**
 * The gRPC unary call of the `h2-grpc` scenario: one length-prefixed message each way
 * (gRPC over HTTP/2: a 1-byte compressed flag, a 4-byte big-endian length, the protobuf
 * bytes). The bytes are a valid protobuf (field 1, a string), though nothing decodes them.
 */
export const GRPC_PATH = '/portside.bench.Bench/Unary';

/** `message` as one uncompressed gRPC frame. */
export function grpcFrame(message: string): Buffer {
  const payload = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(message)]), Buffer.from(message)]);
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

export const GRPC_REQUEST = grpcFrame('hello from the load generator');
export const GRPC_REPLY = grpcFrame('hello from the upstream');
