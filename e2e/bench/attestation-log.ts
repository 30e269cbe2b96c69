/**
 * A loopback proxy in front of the verifier (the extension's configured server URL) that keeps,
 * for every attestation the verifier answered, what the device stated and what the verifier
 * made of it, with the time the answer came back: the moment the session's risk changed at the
 * verifier is the answer to the first attestation that took its assurance below the bank's
 * step-up threshold. Everything else passes through untouched.
 */
import { decodeJwt } from 'jose';
import { startProxy } from '../support/server';

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
  const proxy = await startProxy(target, {
    onAnswer: ({ request, body, status, answer, at }) => {
      if (request.method !== 'POST' || request.path !== '/v1/attestations') return;
      const s = statement(body);
      let verdict: { assurance?: number | null; level?: string } = {};
      try {
        verdict = JSON.parse(answer.toString('utf8')) as typeof verdict;
      } catch {
        // not JSON: recorded with a null assurance
      }
      records.push({
        at,
        sid: s.sid ?? '',
        status,
        state: s.state ?? '',
        conf: s.conf ?? null,
        takeover: s.dec?.takeover ?? null,
        assurance: typeof verdict.assurance === 'number' ? verdict.assurance : null,
        level: verdict.level ?? null,
      });
    },
  });
  return { url: proxy.url, records, stop: proxy.stop };
}
