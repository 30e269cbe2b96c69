/**
 * How the aggregator knows a device key is enrolled and not revoked: it asks the verifier, over
 * HTTP, with an API key of role `aggregator` (`GET /v1/admin/devices/:deviceId`), at every
 * upload. The verifier answers with the key's public JWK and whether any enrollment is active,
 * and nothing about subjects or relying parties. Asking at upload (rather than caching a signed
 * device list) makes a revocation count from the next upload on; the cost is one loopback or
 * LAN request per update, once per device per round.
 *
 * @module
 */
import { deviceKeyAnswer } from '../../src/contract/schemas';
import { AggregatorError } from '../errors';

/** A device key as the verifier knows it. */
export interface DeviceKey {
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  active: boolean;
}

/** Looks device keys up. */
export interface DeviceDirectory {
  /**
   * The key `kid` (RFC 7638 thumbprint), or undefined when it was never enrolled.
   *
   * @throws {AggregatorError} `ERR_VERIFIER_UNAVAILABLE` when the verifier cannot answer.
   */
  lookup(kid: string): Promise<DeviceKey | undefined>;
}

/** Options of {@link verifierDirectory}. */
export interface VerifierDirectoryOptions {
  /** The verifier's base URL. */
  url: string;
  /** An API key of role `aggregator` there. */
  apiKey: string;
  /** Request timeout, ms (default 5000). */
  timeoutMs?: number;
  /** The fetch to use (default the global one; tests pass the in-process verifier's). */
  fetch?: (input: Request) => Promise<Response>;
}

/** The verifier-backed directory (module description). */
export function verifierDirectory(options: VerifierDirectoryOptions): DeviceDirectory {
  const doFetch = options.fetch ?? ((r: Request) => fetch(r));
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    async lookup(kid) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(kid)) return undefined;
      let res: Response;
      try {
        res = await doFetch(
          new Request(`${options.url}/v1/admin/devices/${kid}`, {
            headers: { authorization: `Bearer ${options.apiKey}` },
            signal: AbortSignal.timeout(timeoutMs),
          }),
        );
      } catch (cause) {
        throw new AggregatorError('ERR_VERIFIER_UNAVAILABLE', { cause });
      }
      if (res.status === 404) return undefined;
      if (res.status !== 200) {
        throw new AggregatorError('ERR_VERIFIER_UNAVAILABLE', {
          cause: `verifier answered ${res.status}`,
        });
      }
      const parsed = deviceKeyAnswer.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success || parsed.data.deviceId !== kid) {
        throw new AggregatorError('ERR_VERIFIER_UNAVAILABLE', { cause: 'malformed answer' });
      }
      return { jwk: parsed.data.jwk, active: parsed.data.active };
    },
  };
}
