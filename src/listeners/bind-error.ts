/**
 * A socket that cannot be bound at start (port taken, no permission, no such address): an
 * operator's mistake, not Portside's, so it is reported as one line without a stack.
 */

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use by another process',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'no network interface of this machine has this address',
};

export class BindError extends Error {
  readonly code: string | undefined;

  constructor(
    /** What failed to bind, e.g. `listener "redis"` or `admin server`. */
    readonly what: string,
    readonly address: string,
    cause: NodeJS.ErrnoException,
  ) {
    const reason = cause.code ? (REASONS[cause.code] ?? cause.message) : cause.message;
    super(`${what} cannot bind ${address}: ${reason}${cause.code ? ` (${cause.code})` : ''}`, { cause });
    this.name = 'BindError';
    this.code = cause.code;
  }
}
