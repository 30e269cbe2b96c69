/**
 * Headers added to an answer after its handler built it (security headers, `Cache-Control`,
 * CORS), set in place on the answer's `Headers`. Hono's `c.header()` called after the handler
 * copies the whole `Response` on every call (and turns the lightweight answer of
 * @hono/node-server into a WHATWG `Response` with a stream body): several copies per request,
 * for nothing, since the answers our handlers build have mutable headers.
 *
 * @module
 */
import type { Context } from 'hono';

/** How {@link setResponseHeader} sets the header. */
export interface SetHeaderOptions {
  /** Add a value (for `Vary`) instead of replacing it. */
  append?: boolean;
  /** Keep the value the answer already has, if it has one. */
  ifAbsent?: boolean;
}

/** Sets a header of the answer `c.res` in place (see the module comment). */
export function setResponseHeader(
  c: Context,
  name: string,
  value: string,
  options: SetHeaderOptions = {},
): void {
  const headers = c.res.headers;
  if (options.ifAbsent && headers.has(name)) return;
  try {
    if (options.append) headers.append(name, value);
    else headers.set(name, value);
  } catch {
    // Immutable headers (an answer from `Response.redirect()` or `fetch`): Hono copies it.
    c.header(name, value, options.append ? { append: true } : undefined);
  }
}
