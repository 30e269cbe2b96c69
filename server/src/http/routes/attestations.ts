/**
 * `POST /v1/attestations`: a bound device reports its behavioral confidence.
 *
 * @module
 */
import { Hono } from 'hono';
import { readJson } from '../body';
import { attestationBody } from '../../contract/schemas';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

const body = attestationBody;

/**
 * Attestation route (device): `{attestation}` → 202 `{seq, assurance, level}`. The answer is
 * sent only after the attestation is committed to the store.
 */
export function attestationRoutes({ attestations }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post('/v1/attestations', async (c) => {
    let attestation: string;
    try {
      ({ attestation } = await readJson(c, body));
    } catch (err) {
      // A malformed body is an attestation outcome too: counted and audited.
      await attestations.attestationRejected(err);
      throw err;
    }
    return c.json(await attestations.acceptAttestation(attestation), 202);
  });
}
