/**
 * A tiny structured logger: one JSON object per line. Callers pass an event name and flat
 * fields. By convention nothing logged is a token, a key, an enrollment code, a request body
 * or behavioral data; route patterns are logged instead of paths so ids stay out too.
 *
 * @module
 */

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

/**
 * A line writer to stdout that writes the lines of one event-loop turn together: one write
 * system call per turn instead of one per request under load (stdout to a file or a pipe is a
 * synchronous write). Whatever is pending is written when the process exits.
 */
export function bufferedStdout(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

/**
 * Writes JSON lines (`{time, level, event, ...fields}`) to `write`, stdout by default.
 * `time` is ISO 8601 from `now` so logs line up with the injected clock.
 */
export function jsonLogger(
  write: (line: string) => void = bufferedStdout(),
  now: () => number = Date.now,
  minLevel: LogLevel = 'info',
): Logger {
  const min = LOG_LEVELS.indexOf(minLevel);
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    write(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }));
  };
  // Below the minimum, a no-op: the access log costs nothing per request when it is off.
  const at = (level: LogLevel) =>
    LOG_LEVELS.indexOf(level) >= min
      ? (event: string, fields?: LogFields) => emit(level, event, fields)
      : () => {};
  return {
    debug: at('debug'),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
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
