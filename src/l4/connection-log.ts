/**
 * The info line of each finished TCP connection ("tcp connection"), written by hand and
 * batched per turn like the HTTP access log (see core/info-lines.ts): with a new connection
 * per request, a line through pino and a write(2) of its own cost as much as the proxying.
 * Fields and their order are what `log.info(summary)` wrote.
 */

import { InfoLines } from '../core/info-lines.js';
import type { Logger } from '../core/log.js';
import type { TcpSessionSummary } from './tcp-session.js';

export class ConnectionLog {
  private readonly lines: InfoLines;

  constructor(log: Logger) {
    this.lines = new InfoLines(log);
  }

  write(s: TcpSessionSummary): void {
    let line = `${this.lines.open()},"listener":${JSON.stringify(s.listener)},"client":${JSON.stringify(s.client)}`;
    if (s.endpoint !== undefined) line += `,"endpoint":${JSON.stringify(s.endpoint)}`;
    line += `,"attempts":${s.attempts},"bytesFromClient":${s.bytesFromClient},"bytesToClient":${s.bytesToClient}`;
    line += `,"durationMs":${s.durationMs},"end":${JSON.stringify(s.end)}`;
    // Error codes of sockets (ECONNRESET, connect-timeout): no URL to hide, unlike pino's `error` serializer guards.
    if (s.error !== undefined) line += `,"error":${JSON.stringify(s.error)}`;
    this.lines.close(line, ',"msg":"tcp connection"}');
  }
}
