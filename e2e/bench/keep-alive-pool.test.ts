import { createServer, type Server } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
} from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAlivePool, jsonPost, parseResponse, type RawAnswer } from './keep-alive-pool';

describe('parseResponse', () => {
  it('reads a content-length body and says how many bytes it used', () => {
    const raw = Buffer.from(
      'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"seq":1}HTTP/1.1',
    );
    expect(parseResponse(raw)).toEqual({
      answer: { status: 202, body: '{"seq":1}' },
      used: raw.length - 'HTTP/1.1'.length,
      close: false,
    });
  });

  it('waits for the rest of a partial response', () => {
    expect(parseResponse(Buffer.from('HTTP/1.1 202 Accepted\r\nContent-Len'))).toBeUndefined();
    expect(
      parseResponse(Buffer.from('HTTP/1.1 202 Accepted\r\ncontent-length: 9\r\n\r\n{"se')),
    ).toBeUndefined();
    expect(
      parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab')),
    ).toBeUndefined();
  });

  it('reads a chunked body', () => {
    const raw = Buffer.from(
      'HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n',
    );
    expect(parseResponse(raw)).toEqual({
      answer: { status: 400, body: '{"a":1}' },
      used: raw.length,
      close: false,
    });
  });

  it('refuses what it cannot frame', () => {
    expect(() => parseResponse(Buffer.from('HTTP/1.0 200 OK\r\n\r\n'))).toThrow(/HTTP\/1.1/);
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody'))).toThrow(
      /content-length/,
    );
  });
});

describe('KeepAlivePool against node:http', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function start(handler: Parameters<typeof createServer>[1]): Promise<number> {
    server = createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  function sendAll(pool: KeepAlivePool, requests: Buffer[]) {
    return Promise.all(
      requests.map(
        (r) =>
          new Promise<RawAnswer | Error>((resolve) =>
            pool.send(r, (err, answer) => resolve(err ?? answer!)),
          ),
      ),
    );
  }

  it('answers every request in order of queueing, over fewer connections than requests', async () => {
    const sockets = new Set<unknown>();
    const port = await start((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const echo = JSON.stringify({ got: JSON.parse(body), path: req.url });
        // Chunked and length-framed answers alternate.
        if (body.includes('"n":1')) res.writeHead(202).end(echo);
        else res.writeHead(202, { 'content-length': Buffer.byteLength(echo) }).end(echo);
      });
    });
    const pool = new KeepAlivePool('127.0.0.1', port, 3, 5_000);
    const requests = Array.from({ length: 20 }, (_, i) =>
      jsonPost('127.0.0.1', port, '/v1/attestations', Buffer.from(JSON.stringify({ n: i }))),
    );
    const answers = (await sendAll(pool, requests)) as RawAnswer[];
    pool.close();
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(answers.map((a) => JSON.parse(a.body).got.n)).toEqual([...Array(20).keys()]);
    expect(answers.every((a) => JSON.parse(a.body).path === '/v1/attestations')).toBe(true);
    expect(sockets.size).toBe(3);
  });

  it('reconnects after the server closes a connection, and times out a silent one', async () => {
    let calls = 0;
    const port = await start((req, res) => {
      calls += 1;
      req.resume();
      req.on('end', () => {
        if (calls === 1) res.writeHead(200, { connection: 'close', 'content-length': 2 }).end('{}');
        else if (calls === 2)
          return; // never answers
        else res.writeHead(202, { 'content-length': 2 }).end('{}');
      });
    });
    const pool = new KeepAlivePool('127.0.0.1', port, 1, 300);
    const request = jsonPost('127.0.0.1', port, '/x', Buffer.from('{}'));
    const [first, second, third] = await sendAll(pool, [request, request, request]);
    pool.close();
    expect(first).toEqual({ status: 200, body: '{}' });
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toBe('timeout');
    expect(third).toEqual({ status: 202, body: '{}' });
  });
});

describe('KeepAlivePool on a reused connection closed before any answer', () => {
  let server: NetServer | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  /**
   * A raw server: answers the first request of every connection (keep-alive), and closes the
   * connection on its second request without answering (what a proxy's graceful reload does to
   * an idle client connection a request is just arriving on), `closeFresh`: also the first.
   */
  async function start(closeFresh = false): Promise<{ port: number; seen: () => number }> {
    let seen = 0;
    server = createNetServer((socket) => {
      let requests = 0;
      socket.on('data', (chunk) => {
        seen += chunk.toString('latin1').split('POST ').length - 1;
        requests += 1;
        if (requests > 1 || closeFresh) return void socket.destroy();
        socket.write('HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server.address() as AddressInfo).port, seen: () => seen };
  }

  const send = (pool: KeepAlivePool, port: number) =>
    new Promise<{ error?: Error; answer?: RawAnswer }>((done) =>
      pool.send(
        jsonPost('127.0.0.1', port, '/v1/attestations', Buffer.from('{}')),
        (error, answer) => done({ error, answer }),
      ),
    );

  it('sends the request once more on a new connection, and counts it', async () => {
    const { port, seen } = await start();
    const pool = new KeepAlivePool('127.0.0.1', port, 1, 2000);
    expect((await send(pool, port)).answer?.status).toBe(202);
    const second = await send(pool, port);
    expect(second.error).toBeUndefined();
    expect(second.answer?.status).toBe(202);
    expect(pool.resent).toBe(1);
    expect(seen()).toBe(3);
    pool.close();
  });

  it('does not resend what failed on a fresh connection', async () => {
    const { port, seen } = await start(true);
    const pool = new KeepAlivePool('127.0.0.1', port, 1, 2000);
    const first = await send(pool, port);
    expect(first.error?.message).toMatch(/connection closed|ECONNRESET|socket hang up/);
    expect(pool.resent).toBe(0);
    expect(seen()).toBe(1);
    pool.close();
  });
});
