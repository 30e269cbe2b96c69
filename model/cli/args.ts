/**
 * Command-line parsing shared by the model CLIs (`npm run eval`, `train`, `tune`): one
 * positional task, then `--name value` or `--name=value` options. Every problem is a
 * `TypeError` whose message the CLI prints above its usage text.
 */
import { parseArgs } from 'node:util';

/** A parsed command line, with typed accessors for its options. */
export interface CommandLine<T extends string> {
  task: T;
  /** The option's raw value, if given. */
  get(name: string): string | undefined;
  /** The option's value. @throws {TypeError} `--name <what> is required` when missing. */
  required(name: string, what: string): string;
  /**
   * The option as an integer ≥ `min` (and ≤ `max` when given), if given.
   * @throws {TypeError} when it is not such an integer.
   */
  int(name: string, min: number, max?: number): number | undefined;
  /** `--backend`: `wasm` (default) or `cpu`. */
  backend(): 'wasm' | 'cpu';
}

/**
 * Parses `argv` (without node and the script): the first positional must be one of `tasks`,
 * every option one of `known`.
 * @throws {TypeError} for an unknown or missing task, an unknown option or one without a value.
 */
export function parseCommandLine<T extends string>(
  argv: readonly string[],
  tasks: readonly T[],
  known: readonly string[],
): CommandLine<T> {
  let values: Record<string, string | boolean | undefined>;
  let positional: string[];
  try {
    ({ values, positionals: positional } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(known.map((name) => [name, { type: 'string' as const }])),
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    // node:util's messages name the option with quotes; ours are the ones the CLIs document.
    const code = (err as { code?: string }).code;
    const message = (err as Error).message;
    const name = /'--?([^' =]+)/.exec(message)?.[1] ?? '?';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new TypeError(`unknown option --${name}`, { cause: err });
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new TypeError(`--${name} needs a value`, { cause: err });
    throw new TypeError(message, { cause: err });
  }
  const flags = new Map<string, string>(
    Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const task = positional[0];
  if (task === undefined || !(tasks as readonly string[]).includes(task)) {
    throw new TypeError(`unknown or missing task ${JSON.stringify(task)}`);
  }
  return {
    task: task as T,
    get: (name) => flags.get(name),
    required(name, what) {
      const v = flags.get(name);
      if (v === undefined) throw new TypeError(`--${name} ${what} is required`);
      return v;
    },
    int(name, min, max) {
      const v = flags.get(name);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (max === undefined) {
        if (!Number.isInteger(n) || n < min)
          throw new TypeError(`--${name} must be an integer ≥ ${min}, got ${v}`);
      } else if (!Number.isInteger(n) || n < min || n > max) {
        throw new TypeError(`--${name} must be an integer in [${min}, ${max}], got ${v}`);
      }
      return n;
    },
    backend() {
      const b = flags.get('backend') ?? 'wasm';
      if (b !== 'wasm' && b !== 'cpu')
        throw new TypeError(`--backend must be wasm or cpu, got ${b}`);
      return b;
    },
  };
}
