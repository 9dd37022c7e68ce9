/**
 * One line per finished request, in the same JSON shape as every other log line (pino's:
 * level, time, the logger's bindings, the fields, msg), built only when the logger's level
 * lets it through. The line is written by hand and lines are written together once per
 * event-loop turn: through pino, one line cost a formatting pass over a fresh object and a
 * write(2) per request, about 8 µs of a 20 µs request on the keep-alive bench.
 */
import { type Logger, pino } from 'pino';

export interface AccessRecord {
  method: string;
  host: string | undefined;
  path: string;
  status: number;
  route: number | undefined;
  cluster: string | undefined;
  endpoint: string | undefined;
  attempts: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  requestId: string | undefined;
  /** The x-portside-error code when Portside answered, or `client-abort`. */
  error: string | undefined;
  /** A gRPC call's grpc-status as its client got it (see RoutedRequest.finalGrpcStatus). */
  grpcStatus: number | undefined;
}

export function accessLogEnabled(log: Logger, enabled: boolean): boolean {
  return enabled && log.isLevelEnabled('info');
}

/** pino's numeric level for info. */
const INFO = 30;
/** Pending text beyond which lines go out at once rather than at the end of the turn. */
const FLUSH_CHARS = 16 * 1024;

interface Destination {
  write(text: string): unknown;
}

/** Every writer with lines pending, flushed at the end of the turn (and at exit). */
const pending = new Set<AccessLogWriter>();
let flushScheduled = false;
let exitHooked = false;

function flushAll(): void {
  flushScheduled = false;
  for (const writer of pending) writer.flush();
  pending.clear();
}

/** The access log of one logger (a listener's): lines in pino's format, batched per turn. */
export class AccessLogWriter {
  private readonly destination: Destination;
  /** `,"pid":…,"listener":"web"`: the logger's bindings, already serialised by pino. */
  private readonly bindings: string;
  private text = '';
  private lastMs = 0;
  private lastTime = '';

  constructor(log: Logger) {
    const fields = log as unknown as Record<symbol, unknown>;
    this.destination = fields[pino.symbols.streamSym] as Destination;
    this.bindings = (fields[pino.symbols.chindingsSym] as string | undefined) ?? '';
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', flushAll);
    }
  }

  write(r: AccessRecord): void {
    let line = `{"level":${INFO},"time":"${this.time()}"${this.bindings},"method":${JSON.stringify(r.method)}`;
    if (r.host !== undefined) line += `,"host":${JSON.stringify(r.host)}`;
    line += `,"path":${JSON.stringify(r.path)},"status":${r.status}`;
    if (r.route !== undefined) line += `,"route":${r.route}`;
    if (r.cluster !== undefined) line += `,"cluster":${JSON.stringify(r.cluster)}`;
    if (r.endpoint !== undefined) line += `,"endpoint":${JSON.stringify(r.endpoint)}`;
    line += `,"attempts":${r.attempts},"durationMs":${r.durationMs},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut}`;
    if (r.requestId !== undefined) line += `,"requestId":${JSON.stringify(r.requestId)}`;
    if (r.error !== undefined) line += `,"error":${JSON.stringify(r.error)}`;
    if (r.grpcStatus !== undefined) line += `,"grpcStatus":${r.grpcStatus}`;
    this.text += `${line},"msg":"http request"}\n`;
    if (this.text.length >= FLUSH_CHARS) this.flush();
    else if (!pending.has(this)) {
      pending.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  flush(): void {
    const text = this.text;
    if (text === '') return;
    this.text = '';
    this.destination.write(text);
  }

  /** ISO time as pino writes it, formatted once per millisecond. */
  private time(): string {
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastTime = new Date(now).toISOString();
    }
    return this.lastTime;
  }
}
