/**
 * A loopback proxy in front of the verifier (the extension's configured server URL) that keeps,
 * for every attestation the verifier answered, what the device stated and what the verifier
 * made of it, with the time the answer came back: the moment the session's risk changed at the
 * verifier is the answer to the first attestation that took its assurance below the bank's
 * step-up threshold. Everything else passes through untouched.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';

/** One answered attestation. */
export interface AttestationRecord {
  /** When the verifier's answer arrived (ms since the epoch, this process's clock). */
  at: number;
  sid: string;
  status: number;
  /** The device's statement. */
  state: string;
  conf: number | null;
  takeover: boolean | null;
  /** The verifier's answer (202): the session's assurance and level after it. */
  assurance: number | null;
  level: string | null;
}

export interface AttestationLog {
  url: string;
  records: AttestationRecord[];
  stop(): Promise<void>;
}

interface Statement {
  sid?: string;
  state?: string;
  conf?: number | null;
  dec?: { takeover?: boolean };
}

function statement(body: Buffer): Statement {
  try {
    const { attestation } = JSON.parse(body.toString('utf8')) as { attestation?: string };
    return typeof attestation === 'string' ? (decodeJwt(attestation) as Statement) : {};
  } catch {
    return {};
  }
}

/** Starts the proxy in front of `target`. */
export async function startAttestationLog(target: string): Promise<AttestationLog> {
  const records: AttestationRecord[] = [];
  const targetUrl = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isAttestation = req.method === 'POST' && req.url === '/v1/attestations';
      const upstream = httpRequest(
        {
          hostname: targetUrl.hostname,
          port: targetUrl.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: targetUrl.host },
        },
        (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            const text = Buffer.concat(answer);
            if (isAttestation) {
              const s = statement(body);
              let verdict: { assurance?: number | null; level?: string } = {};
              try {
                verdict = JSON.parse(text.toString('utf8')) as typeof verdict;
              } catch {
                // not JSON: recorded with a null assurance
              }
              records.push({
                at: Date.now(),
                sid: s.sid ?? '',
                status: up.statusCode ?? 0,
                state: s.state ?? '',
                conf: s.conf ?? null,
                takeover: s.dec?.takeover ?? null,
                assurance: typeof verdict.assurance === 'number' ? verdict.assurance : null,
                level: verdict.level ?? null,
              });
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
