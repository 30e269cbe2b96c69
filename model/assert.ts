/**
 * Config assertions shared by the windower, the detector and fusion. They run once, when a
 * config is resolved (fail fast at construction), and quote the bad value so a misconfiguration
 * is obvious from the message alone. Config values are never behavioural data.
 */

/** Asserts `value` is an integer in `[min, max]`; throws a `RangeError` quoting it otherwise. */
export function assertInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${quote(value)}`);
  }
}

/**
 * Asserts `value` is a finite number in `[min, max]` (or `(min, max]` when `exclusiveMin`);
 * throws a `RangeError` quoting it otherwise.
 */
export function assertNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  exclusiveMin = false,
): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (exclusiveMin ? value > min : value >= min) &&
    value <= max;
  if (!ok) {
    const range = `${exclusiveMin ? '(' : '['}${min}, ${max}]`;
    throw new RangeError(`${name} must be a number in ${range}, got ${quote(value)}`);
  }
}

/** Rejects keys that are not part of a config interface (catches typos such as `keyPerWindow`). */
export function assertKnownKeys(what: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${quote(key)}`);
    }
  }
}

/** Renders a bad config value for an error message (strings quoted, the rest via `String`). */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return '[object]';
    }
  }
  return String(value);
}
