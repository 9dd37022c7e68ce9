/**
 * Info lines written by hand, for the lines that come once per request or connection (the
 * HTTP access log, the TCP connection log): the same JSON shape as every other line of the
 * logger (pino's: level, time, the logger's bindings, the fields, msg), written together at
 * most FLUSH_MS after the first of them (or at 16 KiB, or at exit), as nginx's `access_log
 * ... buffer= flush=` does. Through pino, each line cost a formatting pass over a fresh
 * object and a write(2) of its own, about 8 µs of a 20 µs request on the keep-alive bench;
 * with a new connection per request, a write per event-loop turn still cost ~10 % of the
 * CPU, and woke any watcher of the log's directory (the config's, when the log sits beside it).
 */
import { type Logger, pino } from 'pino';

/** pino's numeric level for info. */
const INFO = 30;

/** Pending text beyond which lines go out at once. */
const FLUSH_CHARS = 16 * 1024;

/** The longest a line waits to be written (what a SIGKILL can lose). */
const FLUSH_MS = 50;

export interface Destination {
  write(text: string): unknown;
}

/** `"level":30` or `"level":"info"`: the level field as the logger's own formatter writes it. */
function levelField(log: Logger): string {
  const formatters = (log as unknown as Record<symbol, { level?: (label: string, n: number) => object }>)[
    pino.symbols.formattersSym
  ];
  const field = formatters?.level?.('info', INFO) ?? { level: INFO };
  return JSON.stringify(field).slice(1, -1);
}

/** Every writer with lines pending, flushed together within FLUSH_MS (and at exit). */
const pending = new Set<InfoLines>();
let flushScheduled = false;
let exitHooked = false;

/** Writes every pending line now (exit; and tests that check a line was not written). */
export function flushInfoLines(): void {
  flushAll();
}

function flushAll(): void {
  flushScheduled = false;
  for (const writer of pending) writer.flush();
  pending.clear();
}

/** Info lines of one logger, to its own stream or to `destination`, written in batches. */
export class InfoLines {
  private readonly destination: Destination;
  /** `,"pid":…,"listener":"web"`: the logger's bindings, already serialised by pino. */
  private readonly bindings: string;
  private readonly level: string;
  private text = '';
  private lastMs = 0;
  private lastTime = '';
  private lastSecond = 0;
  private secondPrefix = '';

  constructor(log: Logger, destination?: Destination) {
    const fields = log as unknown as Record<symbol, unknown>;
    this.destination = destination ?? (fields[pino.symbols.streamSym] as Destination);
    this.bindings = (fields[pino.symbols.chindingsSym] as string | undefined) ?? '';
    this.level = levelField(log);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', flushAll);
    }
  }

  /** The start of a line: `{` level, time and bindings; the caller appends `,"key":value` pairs. */
  open(): string {
    return `{${this.level},"time":"${this.time()}"${this.bindings}`;
  }

  /** Queues a line begun with open(); `msgField` is the closing `,"msg":"…"}` (a constant). */
  close(line: string, msgField: string): void {
    this.text += `${line}${msgField}\n`;
    if (this.text.length >= FLUSH_CHARS) this.flush();
    else if (!pending.has(this)) {
      pending.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        // Unreferenced: a process with nothing else to do exits, and the exit hook writes.
        setTimeout(flushAll, FLUSH_MS).unref();
      }
    }
  }

  flush(): void {
    const text = this.text;
    if (text === '') return;
    this.text = '';
    this.destination.write(text);
  }

  /** ISO time as pino writes it: the date and second formatted once a second, the milliseconds added. */
  private time(): string {
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      const second = Math.floor(now / 1000);
      if (second !== this.lastSecond) {
        this.lastSecond = second;
        // `2026-12-07T04:27:51.`
        this.secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
      }
      const ms = now - second * 1000;
      this.lastTime = `${this.secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
    }
    return this.lastTime;
  }
}
