import { type OnReadOpts, Socket } from 'node:net';

/** The parts of an accepted socket that adoption touches; `_handle` is Node's own field. */
interface AcceptedSocketInternals {
  _handle: { useUserBuffer?: unknown } | null;
}

/**
 * Re-wraps a socket that `net.Server` accepted (with `pauseOnConnect`, so nothing has been
 * read yet) in a new `Socket` that reads into caller-supplied buffers (`onread`).
 *
 * Why: Node offers `onread` only to sockets made by `new Socket()`/`connect()`, so accepted
 * sockets allocate a fresh buffer for every read and deliver it through stream events. On
 * the L4 small-request benchmark that read path alone was about a quarter of the proxy's
 * CPU per request. The new socket takes over the same libuv handle (Node's own `handle`
 * constructor option, the one its server uses); the accepted socket keeps no handle and is
 * destroyed when the new one closes, which keeps the server's connection count right.
 *
 * Returns undefined, and leaves `accepted` untouched, where the handle is not the expected
 * stream handle (a future Node may change it): callers then use `accepted` as it is.
 */
export function adoptWithReadBuffer(
  accepted: Socket,
  onread: OnReadOpts,
  options: { allowHalfOpen: boolean },
): Socket | undefined {
  const internals = accepted as unknown as AcceptedSocketInternals;
  const handle = internals._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || accepted.readableFlowing === true)
    return undefined;
  internals._handle = null;
  const adopted = new Socket({
    handle,
    allowHalfOpen: options.allowHalfOpen,
    readable: true,
    writable: true,
    pauseOnCreate: true,
    onread,
  } as ConstructorParameters<typeof Socket>[0]);
  adopted.once('close', () => accepted.destroy());
  return adopted;
}
