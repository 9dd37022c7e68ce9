import { type Logger, pino } from 'pino';
import type { LogLevel } from './log-levels.js';
import { redactUrls } from './secrets.js';

export { LOG_LEVELS, type LogLevel } from './log-levels.js';
export type { Logger };

/**
 * Errors are where URLs with credentials end up (fetch and undici quote the URL they were
 * given), so `err` and `error` fields lose any URL userinfo on the way out. Serializers run
 * only for lines that have those fields: nothing is added to access-log lines.
 */
const serializers = {
  err: (value: unknown) => hideUrlCredentials(pino.stdSerializers.err(value as Error)),
  error: hideUrlCredentials,
};

function hideUrlCredentials(value: unknown): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(hideUrlCredentials);
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = hideUrlCredentials(inner);
  return copy;
}

/** JSON lines on stdout (pino); `pretty` pipes through pino-pretty for humans. */
export function createLogger(
  level: LogLevel = 'info',
  pretty = false,
  /** Where JSON lines go (stdout by default; tests pass a sink). */
  destination?: pino.DestinationStream,
): Logger {
  if (pretty) {
    return pino({
      level,
      serializers,
      transport: {
        target: 'pino-pretty',
        options: {
          // https://no-color.org, and no escape codes in a file or pipe.
          colorize: useColor(),
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        },
      },
    });
  }
  const options: pino.LoggerOptions = {
    level,
    serializers,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"info" rather than 30: what people grep and log pipelines (Loki, Elastic) expect.
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything but the empty string. */
export function useColor(env: NodeJS.ProcessEnv = process.env, tty = process.stdout.isTTY === true): boolean {
  const noColor = env.NO_COLOR;
  return tty && (noColor === undefined || noColor === '');
}
