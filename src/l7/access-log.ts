/**
 * One line per finished request (see core/info-lines.ts for how it is written), built only
 * when the logger's level lets it through; to the logger's stream or to its own file.
 */
import { type Logger, pino } from 'pino';
import { type Destination, InfoLines } from '../core/info-lines.js';

export interface AccessRecord {
  method: string;
  host: string | undefined;
  path: string;
  status: number;
  /** The route's name, or its position and match (as in metrics). */
  route: string | undefined;
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

export function accessLogEnabled(log: Logger, config: AccessLogConfig): boolean {
  return config !== false && log.isLevelEnabled('info');
}

/** `accessLog` of an http listener: on or off, a sample, a file. */
export type AccessLogConfig = boolean | { sample: number; file?: string };

/** Access log files by path, shared by every handler that writes one (one descriptor each). */
const files = new Map<string, ReturnType<typeof pino.destination>>();

/**
 * The file's destination, reopened: a new handler comes with every reload, and SIGHUP
 * reloads, so `mv web.log web.log.1 && kill -HUP` rotates as with nginx's USR1.
 */
function accessLogFile(path: string): Destination {
  let file = files.get(path);
  if (file === undefined) {
    // Synchronous writes: lines are already batched (core/info-lines.ts).
    file = pino.destination({ dest: path, append: true, mkdir: true, sync: true });
    files.set(path, file);
  } else file.reopen();
  return file;
}

/** The access log of one logger (a listener's): lines in pino's format, written in batches. */
export class AccessLogWriter {
  private readonly lines: InfoLines;
  /** Percent of requests logged (those answered with Portside's own error always are). */
  private readonly sample: number;

  constructor(log: Logger, config: AccessLogConfig = true) {
    const file = typeof config === 'object' ? config.file : undefined;
    this.lines = new InfoLines(log, file ? accessLogFile(file) : undefined);
    this.sample = typeof config === 'object' ? config.sample : 100;
  }

  /** Whether this request's line is written: always for an error, else as sampled. */
  wants(error: boolean): boolean {
    return error || this.sample >= 100 || Math.random() * 100 < this.sample;
  }

  write(r: AccessRecord): void {
    let line = `${this.lines.open()},"method":${JSON.stringify(r.method)}`;
    if (r.host !== undefined) line += `,"host":${JSON.stringify(r.host)}`;
    line += `,"path":${JSON.stringify(r.path)},"status":${r.status}`;
    if (r.route !== undefined) line += `,"route":${JSON.stringify(r.route)}`;
    if (r.cluster !== undefined) line += `,"cluster":${JSON.stringify(r.cluster)}`;
    if (r.endpoint !== undefined) line += `,"endpoint":${JSON.stringify(r.endpoint)}`;
    line += `,"attempts":${r.attempts},"durationMs":${r.durationMs},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut}`;
    if (r.requestId !== undefined) line += `,"requestId":${JSON.stringify(r.requestId)}`;
    if (r.error !== undefined) line += `,"error":${JSON.stringify(r.error)}`;
    if (r.grpcStatus !== undefined) line += `,"grpcStatus":${r.grpcStatus}`;
    this.lines.close(line, ',"msg":"http request"}');
  }

  flush(): void {
    this.lines.flush();
  }
}
