/**
 * Request-body limit, reading the body once. Behind the Node listener (`server.ts`), the body is
 * read straight from Node's `IncomingMessage` into a buffer, at most `maxBytes`, and handed to
 * Hono's body cache, so `c.req.text()` (and `arrayBuffer()`, `json()`, `parseBody()`) answer
 * from it: no WHATWG `Request`, `ReadableStream` or `AbortSignal` is built for the request,
 * which cost more than checking the attestation's signature. In-process (`app.request()`, no
 * Node request) Hono's own `bodyLimit` does the same check on the `Request`.
 *
 * Either way, and exactly as Hono's `bodyLimit` decides: a `Content-Length` over the limit
 * (without `Transfer-Encoding`) is refused before anything is read; a body that turns out
 * longer is refused as soon as it passes the limit; both are 413 `ERR_PAYLOAD_TOO_LARGE`.
 * `GET` and `HEAD` bodies are not read. A body that cannot be read (the client went away) is
 * 400 `ERR_BAD_REQUEST`.
 *
 * @module
 */
import { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { BadRequest, PayloadTooLarge } from '../../../errors';
import type { AppEnv } from '../../types';

/** What @hono/node-server passes as env: the Node request (tests pass look-alikes). */
interface NodeBindings {
  incoming?: unknown;
}

/** Decodes like `Request.text()` (UTF-8, a leading BOM removed, bad bytes replaced). */
const utf8 = new TextDecoder();

/** Reads the whole body, rejecting with {@link PayloadTooLarge} once it passes `maxBytes`. */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // The listener drains (or drops) the rest once the 413 is sent.
        done();
        incoming.pause();
        reject(new PayloadTooLarge({ cause: 'body over the limit' }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (cause: unknown) => {
      done();
      reject(new BadRequest('unreadable request body', { cause }));
    };
    const onClose = () => {
      done();
      reject(new BadRequest('unreadable request body', { cause: 'closed before its end' }));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** The middleware: see the module comment. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const onRequest = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLarge();
    },
  });
  return async (c, next) => {
    const incoming = (c.env as NodeBindings | undefined)?.incoming;
    if (!(incoming instanceof IncomingMessage)) return onRequest(c, next);
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = incoming.headers['content-length'];
    if (length !== undefined && incoming.headers['transfer-encoding'] === undefined) {
      if (parseInt(length, 10) > maxBytes) throw new PayloadTooLarge();
    }
    const body = await readIncoming(incoming, maxBytes);
    // Hono's body cache holds promises (its types say values).
    const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
    cache.text = Promise.resolve(utf8.decode(body));
    cache.arrayBuffer = Promise.resolve(new Uint8Array(body).buffer);
    return next();
  };
}
