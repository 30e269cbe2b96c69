import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed test certificate for one host name (and 127.0.0.1, where the demo bank's
 * backend reaches the verifier: Node cannot resolve the host name), made by openssl for this run
 * only.
 */
export interface TestCertificate {
  host: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  /** base64 SHA-256 of the SubjectPublicKeyInfo, for Chromium's `--ignore-certificate-errors-spki-list`. */
  spkiSha256: string;
}

export function makeTestCertificate(host: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=DNS:${host},IP:127.0.0.1`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const certPem = readFileSync(certFile, 'utf8');
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return {
    host,
    certFile,
    keyFile,
    certPem,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
  };
}

/**
 * A JSON request to `https://<cert.host>:<port>` sent to loopback, trusting only the test
 * certificate (the bank's backend, or the test's health check, where Node cannot resolve the
 * host name the browser maps with `--host-resolver-rules`).
 */
export function httpsJson(
  cert: TestCertificate,
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: { host: `${cert.host}:${port}`, ...init.headers },
        servername: cert.host,
        ca: cert.certPem,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text; // e.g. the Prometheus text format of /metrics
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
