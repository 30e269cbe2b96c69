/**
 * The server's structured logger (pino): one JSON object per line. Callers pass an event name and flat
 * fields. By convention nothing logged is a token, a key, an enrollment code, a request body
 * or behavioral data; route patterns are logged instead of paths so ids stay out too.
 *
 * @module
 */
import { pino } from 'pino';

/** Values a log field may take. */
export type LogValue = string | number | boolean | null | undefined;

/** Flat fields of one log line. */
export type LogFields = Record<string, LogValue>;

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Levels in increasing severity; a logger writes its minimum level and above. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** What the server logs through. */
export interface Logger {
  /** Per-request detail (the access log): off unless `TACIT_LOG_LEVEL=debug`. */
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** One recorded line, as {@link memoryLogger} keeps it. */
export interface LogRecord extends LogFields {
  level: LogLevel;
  event: string;
}

/** Field names whose values never reach a log line, at the top level or one level down. */
export const REDACTED_FIELDS = [
  'token',
  'authorization',
  'binding',
  'enrollment',
  'enrollmentCode',
  'jws',
  'body',
  'secret',
] as const;

/**
 * Writes JSON lines (`{level, time, event, ...fields}`) with pino to `destination` (stdout by
 * default, written asynchronously in batches and flushed at exit). `time` is ISO 8601 from
 * `now` so logs line up with the injected clock. Fields named in {@link REDACTED_FIELDS} are
 * replaced by `[redacted]`, a second line of defence behind the convention above.
 */
export function jsonLogger(
  destination?: { write(line: string): void },
  now: () => number = Date.now,
  minLevel: LogLevel = 'info',
): Logger {
  let stream = destination;
  if (stream === undefined) {
    const stdout = pino.destination({ sync: false });
    process.on('exit', () => stdout.flushSync());
    stream = stdout;
  }
  const log = pino(
    {
      level: minLevel,
      base: undefined,
      messageKey: 'event',
      timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]),
        censor: '[redacted]',
      },
    },
    stream,
  );
  return {
    debug: (event, fields) => log.debug(fields ?? {}, event),
    info: (event, fields) => log.info(fields ?? {}, event),
    warn: (event, fields) => log.warn(fields ?? {}, event),
    error: (event, fields) => log.error(fields ?? {}, event),
  };
}

/** A logger that keeps its lines in memory (tests assert on them). */
export function memoryLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const push = (level: LogLevel, event: string, fields?: LogFields) => {
    records.push({ ...fields, level, event });
  };
  return {
    records,
    debug: (event, fields) => push('debug', event, fields),
    info: (event, fields) => push('info', event, fields),
    warn: (event, fields) => push('warn', event, fields),
    error: (event, fields) => push('error', event, fields),
  };
}

/** Fields describing an error for the log: its class, code and message, and `cause` if text. */
export function errorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: typeof err };
  const fields: LogFields = { error: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') fields.code = code;
  if (typeof err.cause === 'string') fields.cause = err.cause;
  else if (err.cause instanceof Error) fields.cause = `${err.cause.name}: ${err.cause.message}`;
  return fields;
}
