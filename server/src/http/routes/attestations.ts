/**
 * `POST /v1/attestations`: a bound device reports its behavioral confidence.
 *
 * @module
 */
import { Hono } from 'hono';
import { readJson } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/**
 * Attestation route (device): `{attestation}` → 202 `{seq, assurance, level}`. The answer is
 * sent only after the attestation is committed to the store.
 */
export function attestationRoutes({ attestations }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post(ROUTES.attest.path, async (c) => {
    let attestation: string;
    try {
      ({ attestation } = await readJson(c, ROUTES.attest.body.schema));
    } catch (err) {
      // A malformed body is an attestation outcome too: counted and audited.
      await attestations.attestationRejected(err);
      throw err;
    }
    return c.json(await attestations.acceptAttestation(attestation), 202);
  });
}
