import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server as HttpServer } from 'node:http';
import { request, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config';
import { MemoryRateLimiter } from './middleware/rate-limit';
import { createNodeServer, listen } from './server';
import { KEYS, createHarness, type Harness } from '../testing/harness';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();
if (!OPENSSL) {
  // Visible in the test output: why the TLS tests did not run.
  console.warn('server.test.ts: `openssl` not found on PATH, TLS tests skipped');
}

let dir: string;
/** Writes a self-signed P-256 certificate for localhost/127.0.0.1; returns the file paths. */
function selfSigned(name: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath };
}

interface Reply {
  status: number;
  protocol: string | null;
  body: string;
  headers: Record<string, unknown>;
}

function get(
  port: number,
  path: string,
  ca: string,
  tls: {
    minVersion?: 'TLSv1' | 'TLSv1.2';
    maxVersion?: 'TLSv1.1' | 'TLSv1.2';
    ciphers?: string;
  } = {},
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false, ...tls, ...init },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            protocol: (res.socket as TLSSocket).getProtocol?.() ?? null,
            body,
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe.skipIf(!OPENSSL)('TLS', () => {
  let files: { certPath: string; keyPath: string };
  let h: Harness;
  let server: HttpServer | HttpsServer | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tacit-tls-'));
    files = selfSigned('server');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    if (server) await new Promise<void>((done) => server!.close(() => done()));
    server = undefined;
    await h?.close();
  });

  const serve = async (options: Parameters<typeof createHarness>[0] = {}) => {
    h = await createHarness({ hsts: true, ...options });
    const config = loadConfig(
      { TACIT_TLS_CERT: files.certPath, TACIT_TLS_KEY: files.keyPath },
      dir,
    );
    server = createNodeServer((req, env) => h.app.fetch(req, env), config.tls);
    return listen(server, 0, '127.0.0.1');
  };

  it('serves HTTPS, TLS 1.3 by default, with HSTS', async () => {
    const port = await serve();
    const ca = readFileSync(files.certPath, 'utf8');
    const res = await get(port, '/readyz', ca);
    expect(res.status).toBe(200);
    expect(res.protocol).toBe('TLSv1.3');
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ready' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('accepts TLS 1.2 and refuses TLS 1.1', async () => {
    const port = await serve();
    const ca = readFileSync(files.certPath, 'utf8');
    expect((await get(port, '/healthz', ca, { maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    // The client may offer 1.0/1.1 (security level 0, where this OpenSSL can speak them); the
    // server answers with a protocol_version alert.
    await expect(
      get(port, '/healthz', ca, {
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    ).rejects.toThrow(/alert protocol version/);
  });

  it('the app sees the remote address over a real connection (rate limit per address)', async () => {
    const keys: string[] = [];
    const memory = new MemoryRateLimiter();
    const port = await serve({
      rateLimits: { windowMs: 60_000, rp: 0, device: 0, address: 1 },
      rateLimiter: {
        hit: (key, ...rest) => {
          keys.push(key);
          return memory.hit(key, ...rest);
        },
      },
    });
    const ca = readFileSync(files.certPath, 'utf8');
    const post = () =>
      get(
        port,
        '/v1/devices',
        ca,
        {},
        {
          method: 'POST',
          body: '{"enrollment":"x"}',
          headers: { 'content-type': 'application/json' },
        },
      );
    expect((await post()).status).toBe(400);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(keys).toEqual(['address:127.0.0.1', 'address:127.0.0.1']);
  });

  it('fails fast: one of the two set, unreadable files, a key that does not match', () => {
    const other = selfSigned('other');
    const load = (env: Record<string, string>) => () => loadConfig(env, dir);
    expect(load({ TACIT_TLS_CERT: files.certPath })).toThrow(/TACIT_TLS_KEY: .*set together/);
    expect(load({ TACIT_TLS_KEY: files.keyPath })).toThrow(/TACIT_TLS_CERT: .*set together/);
    expect(load({ TACIT_TLS_CERT: files.certPath, TACIT_TLS_KEY: 'missing.key' })).toThrow(
      /TACIT_TLS_KEY: cannot read the file \(ENOENT\)/,
    );
    expect(load({ TACIT_TLS_CERT: files.certPath, TACIT_TLS_KEY: other.keyPath })).toThrow(
      ConfigError,
    );
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    expect(load({ TACIT_TLS_CERT: garbage, TACIT_TLS_KEY: files.keyPath })).toThrow(ConfigError);
    // The message never contains key material.
    try {
      load({ TACIT_TLS_CERT: files.certPath, TACIT_TLS_KEY: other.keyPath })();
    } catch (err) {
      expect((err as Error).message).not.toContain('PRIVATE KEY');
    }
  });
});

describe('over a plain HTTP connection (the body read from the Node request)', () => {
  let h: Harness;
  let server: HttpServer | undefined;
  let port: number;

  beforeAll(async () => {
    h = await createHarness();
    server = createNodeServer((req, env) => h.app.fetch(req, env)) as HttpServer;
    port = await listen(server, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await new Promise<void>((done) => server!.close(() => done()));
    await h.close();
  });

  /** One request on its own connection; `chunks` are written one by one (chunked encoding). */
  const send = (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | string[] = '',
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const chunks = typeof body === 'string' ? [body] : body;
      const req = httpRequest(
        { host: '127.0.0.1', port, method, path, headers, agent: false },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
          );
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  const json = { 'content-type': 'application/json' };
  const code = (res: { body: string }) =>
    (JSON.parse(res.body) as { error: { code: string } }).error.code;

  it('reads JSON and form bodies (a BOM is ignored, as Request.text() does)', async () => {
    const enroll = '{"enrollment":"not-a-jws"}';
    const sized = { ...json, 'content-length': String(Buffer.byteLength(enroll)) };
    const plain = await send('POST', '/v1/devices', sized, enroll);
    expect([plain.status, code(plain)]).toEqual([400, 'ERR_JWS_INVALID']);
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['cache-control']).toBe('no-store');
    const withBom = await send('POST', '/v1/devices', json, `\uFEFF${enroll}`);
    expect([withBom.status, code(withBom)]).toEqual([400, 'ERR_JWS_INVALID']);
    // Chunked, without a Content-Length, in several pieces.
    const pieces = await send('POST', '/v1/devices', json, ['{"enro', 'llment":"not-', 'a-jws"}']);
    expect([pieces.status, code(pieces)]).toEqual([400, 'ERR_JWS_INVALID']);
    const form = await send(
      'POST',
      '/v1/introspect',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Bearer ${KEYS.bankA}`,
      },
      'token=nope',
    );
    expect([form.status, JSON.parse(form.body)]).toEqual([200, { active: false }]);
  });

  it('an oversized body → 413 ERR_PAYLOAD_TOO_LARGE, by its length or as it streams', async () => {
    const big = JSON.stringify({ attestation: 'a'.repeat(17 * 1024) });
    const declared = await send(
      'POST',
      '/v1/attestations',
      { ...json, 'content-length': String(big.length) },
      big,
    );
    expect([declared.status, code(declared)]).toEqual([413, 'ERR_PAYLOAD_TOO_LARGE']);
    expect(declared.headers['x-content-type-options']).toBe('nosniff');
    const streamed = await send(
      'POST',
      '/v1/attestations',
      json,
      Array.from({ length: 20 }, () => 'x'.repeat(1024)),
    );
    expect([streamed.status, code(streamed)]).toEqual([413, 'ERR_PAYLOAD_TOO_LARGE']);
    // Exactly the limit is still read (and refused later as a bad body, not as too large).
    const limit = 'x'.repeat(16 * 1024);
    const halves = [limit.slice(0, 9000), limit.slice(9000)];
    const atLimit = await send('POST', '/v1/attestations', json, halves);
    expect([atLimit.status, code(atLimit)]).toEqual([400, 'ERR_BAD_REQUEST']);
  });
});
