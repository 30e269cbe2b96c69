/**
 * The server bench's HTTP/1.1 client for the timed part: a fixed pool of keep-alive
 * connections, requests serialised once before the step, one request in flight per
 * connection, a FIFO queue when every connection is busy (node:http's `Agent` with
 * `scheduling: 'fifo'` behaves the same way), and a response parser that reads the status,
 * `content-length` or chunked bodies.
 *
 * Hand-written on purpose, for the measurement: the generator runs beside the server on the
 * same cores, so every microsecond it spends is taken from the server it measures. Measured on
 * the 2-core bench machine (2026-12-07, 20,000 POSTs of an attestation-sized body, 64
 * connections, a trivial node:http server): node:http with a keep-alive Agent 87–110 µs of
 * client CPU per request, undici's Pool 84–94 µs, this client 25–35 µs.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { performance } from 'node:perf_hooks';

/** A response: status and body text (bodies are small JSON here). */
export interface RawAnswer {
  status: number;
  body: string;
}

/** Called once per request: an answer, or the transport error / timeout that ended it. */
export type Done = (error: Error | undefined, answer?: RawAnswer) => void;

interface Pending {
  request: Buffer;
  done: Done;
  /** Already sent once on a reused connection that closed before answering. */
  resent?: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Parses one response at the start of `buf`; `undefined` while it is incomplete. Throws on
 * what this client does not speak (no length and not chunked).
 */
export function parseResponse(
  buf: Buffer,
): { answer: RawAnswer; used: number; close: boolean } | undefined {
  const headerEnd = buf.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('HTTP/1.1 ') || !Number.isInteger(status)) {
    throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(head.slice(0, 40))}`);
  }
  const bodyStart = headerEnd + 4;
  // The server will close after this answer: the connection must not carry another request.
  const close = /\r\nconnection:[ \t]*close/i.test(head);
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    if (buf.length < end) return undefined;
    return { answer: { status, body: buf.toString('utf8', bodyStart, end) }, used: end, close };
  }
  if (!/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
    throw new Error(`response without content-length or chunked body (status ${status})`);
  }
  const parts: Buffer[] = [];
  let at = bodyStart;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers from our servers: the last chunk is followed by one empty line.
      if (buf.length < dataStart + 2) return undefined;
      return {
        answer: { status, body: Buffer.concat(parts).toString('utf8') },
        used: dataStart + 2,
        close,
      };
    }
    if (buf.length < dataStart + size + 2) return undefined;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

/**
 * A connection idle this long (ms) is not reused but reopened. Node's HTTP server closes an idle
 * keep-alive connection after 5 s (`keepAliveTimeout`): a request written just as it closes is
 * lost (ECONNRESET, or the connection closes under it), the race every keep-alive client must
 * avoid by expiring connections before the server does (as nginx's `keepalive_timeout` below
 * the upstream's). At a low rate over many connections (the soak), some sit idle that long.
 */
export const MAX_IDLE_MS = 4000;

/** One connection: at most one request in flight; reconnects after an error or a close. */
class Connection {
  #socket: Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #current: Pending | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The socket has carried a whole exchange already (a keep-alive reuse). */
  #reused = false;
  /** Bytes of the current answer have arrived. */
  #answering = false;
  #idleSince = 0;

  constructor(readonly pool: KeepAlivePool) {}

  get busy(): boolean {
    return this.#current !== undefined;
  }

  send(pending: Pending): void {
    this.#current = pending;
    this.#answering = false;
    if (this.#socket && performance.now() - this.#idleSince > MAX_IDLE_MS) this.close();
    const socket = this.#socket ?? this.#connect();
    this.#timer = setTimeout(() => this.#fail(new Error('timeout')), this.pool.timeoutMs);
    socket.write(pending.request);
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(): Socket {
    const { tls } = this.pool;
    // Over TLS (a proxy terminating it), trusting only the given certificate.
    const socket = tls
      ? connectTls({ host: this.pool.host, port: this.pool.port, ca: tls.ca })
      : connect(this.pool.port, this.pool.host);
    socket.setNoDelay(true);
    // Events of a socket this connection already dropped are ignored: they must not end the
    // request that a newer socket carries.
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket === socket) this.#read(chunk);
    });
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#fail(err);
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#fail(new Error('connection closed'));
    });
    this.#buffer = Buffer.alloc(0);
    this.#socket = socket;
    this.#reused = false;
    return socket;
  }

  #read(chunk: Buffer): void {
    this.#answering = true;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.#buffer);
    } catch (err) {
      return this.#fail(err as Error);
    }
    if (!parsed) return;
    this.#buffer = this.#buffer.subarray(parsed.used);
    const current = this.#current;
    if (!current) return this.#fail(new Error('response without a request'));
    if (parsed.close) this.close();
    else this.#reused = true;
    this.#finish(undefined, parsed.answer);
  }

  /**
   * Ends the request in flight (if any) with an error and drops the connection. A request on
   * a reused keep-alive connection that closed before any byte of an answer is sent once more
   * on a new one, as browsers do (the server may have closed the idle connection as the request
   * left: a proxy's graceful reload does). The pool counts these in `resent`; a request the
   * server did apply comes back as a replay (409), an error, so nothing is hidden.
   */
  #fail(error: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
    const current = this.#current;
    if (!current) return;
    const closedIdle =
      error.message === 'connection closed' ||
      (error as NodeJS.ErrnoException).code === 'ECONNRESET';
    if (this.#reused && !this.#answering && !current.resent && closedIdle) {
      clearTimeout(this.#timer);
      this.pool.resent += 1;
      this.send({ ...current, resent: true });
      return;
    }
    this.#finish(error);
  }

  #finish(error: Error | undefined, answer?: RawAnswer): void {
    clearTimeout(this.#timer);
    const { done } = this.#current!;
    this.#current = undefined;
    this.#idleSince = performance.now();
    done(error, answer);
    this.pool.release(this);
  }
}

/** A fixed pool of keep-alive connections to one server. */
export class KeepAlivePool {
  readonly #idle: Connection[] = [];
  readonly #all: Connection[] = [];
  readonly #queue: (Pending | undefined)[] = [];
  #head = 0;
  #closed = false;
  /** Requests sent again after a reused connection closed before answering. */
  resent = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    connections: number,
    readonly timeoutMs: number,
    /** Speak TLS, trusting only `ca` (PEM). */
    readonly tls?: { ca: string },
  ) {
    for (let i = 0; i < connections; i++) {
      const c = new Connection(this);
      this.#all.push(c);
      this.#idle.push(c);
    }
  }

  /** Sends a serialised request on the next free connection (queued FIFO when none is). */
  send(request: Buffer, done: Done): void {
    if (this.#closed) return done(new Error('pool closed'));
    const pending = { request, done };
    const idle = this.#idle.pop();
    if (idle) idle.send(pending);
    else this.#queue.push(pending);
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** @internal A connection finished its request: give it the next queued one. */
  release(connection: Connection): void {
    if (this.#closed || connection.busy) return;
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      connection.send(next);
    } else {
      this.#idle.push(connection);
    }
  }

  /** Drops every connection; queued requests are failed. */
  close(): void {
    this.#closed = true;
    for (const c of this.#all) c.close();
    for (let i = this.#head; i < this.#queue.length; i++) {
      this.#queue[i]?.done(new Error('pool closed'));
    }
    this.#queue.length = 0;
    this.#head = 0;
  }
}

/** The bytes of one `POST` with a JSON body (serialised before the timed part). */
export function jsonPost(host: string, port: number, path: string, body: Buffer): Buffer {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
