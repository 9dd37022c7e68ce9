import type { OnReadOpts, Socket } from 'node:net';

/** The parts of an accepted socket that adoption touches; `_handle` is Node's own field. */
interface AcceptedSocketInternals {
  _handle: { useUserBuffer?: (buffer: Uint8Array) => void; reading?: boolean } | null;
}

/** Node's fields behind `new Socket({ onread })`, present (as null) on every socket. */
interface ReadBufferFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let fields: ReadBufferFields | null | undefined;

/** Found by name on the first socket, once: undefined names mean this Node keeps them elsewhere. */
function readBufferFields(socket: Socket): ReadBufferFields | null {
  if (fields !== undefined) return fields;
  const symbols = Object.getOwnPropertySymbols(socket);
  const named = (name: string) => symbols.find((s) => s.description === name);
  const [buffer, callback, generator] = [named('kBuffer'), named('kBufferCb'), named('kBufferGen')];
  fields = buffer && callback && generator ? { buffer, callback, generator } : null;
  return fields;
}

/**
 * Makes a socket that `net.Server` accepted (with `pauseOnConnect`, so nothing has been read
 * yet) read into caller-supplied buffers, as Node's `onread` option does for sockets made by
 * `new Socket()`/`connect()`.
 *
 * Why: Node offers `onread` only to those, so accepted sockets allocate a fresh buffer for
 * every read and deliver it through stream events; on the L4 small-request benchmark that
 * read path alone was about a quarter of the proxy's CPU per request. This sets, on the
 * accepted socket itself, the three fields the `onread` option sets (Node's own symbols,
 * found by name) and puts its libuv handle in user-buffer mode, as Node's socket set-up does.
 * An earlier version re-wrapped the handle in a second `Socket`; doing it in place saves
 * that socket's construction and garbage on every connection.
 *
 * Returns undefined, and leaves `accepted` untouched, where Node's internals are not as
 * expected (a future Node may change them): callers then read through 'data' events.
 */
export function adoptWithReadBuffer(accepted: Socket, onread: OnReadOpts): Socket | undefined {
  const handle = (accepted as unknown as AcceptedSocketInternals)._handle;
  const names = readBufferFields(accepted);
  if (!names || !handle || typeof handle.useUserBuffer !== 'function') return undefined;
  const own = accepted as unknown as Record<symbol, unknown>;
  if (handle.reading || accepted.readableFlowing === true || own[names.buffer] !== null) return undefined;
  const generator = typeof onread.buffer === 'function' ? onread.buffer : null;
  const first = generator ? generator() : (onread.buffer as Uint8Array);
  own[names.generator] = generator;
  own[names.buffer] = first;
  own[names.callback] = onread.callback;
  handle.useUserBuffer(first);
  return accepted;
}
