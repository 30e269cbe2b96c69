/**
 * How the model CLIs end: a refused run (bad input, a test user that trained the encoder, a
 * missing file) prints one line and exits 2; anything else prints its stack and exits 1.
 *
 * The wasm backend's Emscripten module installs an `uncaughtException` handler that prints its
 * own minified source before rethrowing, so no error may reach the top level: `main` is awaited
 * here and every rejection is handled.
 */

/** Errors that mean "this run is refused" rather than "this tool is broken". */
function isRefusal(error: unknown): error is Error {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // Our typed model errors (ERR_*) and Node's file errors (ENOENT, EACCES, …).
  return error instanceof Error && typeof code === 'string' && /^(ERR_|E[A-Z]+$)/.test(code);
}

/** Runs a CLI's `main` and sets the exit code from how it ended. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (isRefusal(error)) {
      console.error(`refused: ${error.message.split('\n')[0]}`);
      process.exitCode = 2;
      return;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  }
}

/**
 * Parses a CLI's arguments; a bad command line prints its message and `usage`, sets exit code 2
 * and returns undefined (the caller returns).
 */
export function parseOrUsage<T>(parse: (argv: string[]) => T, usage: string): T | undefined {
  try {
    return parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
}
