/**
 * Command-line parsing shared by the model CLIs (`npm run eval`, `train`, `tune`): one
 * positional task, then `--name value` or `--name=value` options. Every problem is a
 * `TypeError` whose message the CLI prints above its usage text.
 */

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
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const value = inline ?? argv[++k];
      if (value === undefined) throw new TypeError(`--${name} needs a value`);
      flags.set(name, value);
    } else positional.push(a);
  }
  const task = positional[0];
  if (task === undefined || !(tasks as readonly string[]).includes(task)) {
    throw new TypeError(`unknown or missing task ${JSON.stringify(task)}`);
  }
  for (const name of flags.keys())
    if (!known.includes(name)) throw new TypeError(`unknown option --${name}`);
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
