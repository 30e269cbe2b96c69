import { EmbeddedJWK, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDpopProof, type ProofKey } from './device-key';

/** A key like the stored one: non-extractable private half, public JWK kept beside it. */
async function proofKey(): Promise<ProofKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
}

const NOW = Date.UTC(2025, 5, 2, 9, 0, 0);

describe('createDpopProof', () => {
  it('is an ES256 dpop+jwt with the public key only, bound to method and URL', async () => {
    const key = await proofKey();
    expect(key.privateKey.extractable).toBe(false);
    const proof = await createDpopProof(
      key,
      'GET',
      'https://tacit.example/v1/device/sessions/abc?x=1#y',
      NOW,
    );
    const header = decodeProtectedHeader(proof);
    expect(header).toEqual({
      alg: 'ES256',
      typ: 'dpop+jwt',
      jwk: { kty: 'EC', crv: 'P-256', x: key.publicJwk.x, y: key.publicJwk.y },
    });
    const { payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: ['ES256'],
      typ: 'dpop+jwt',
      currentDate: new Date(NOW),
    });
    expect(payload).toEqual({
      htm: 'GET',
      htu: 'https://tacit.example/v1/device/sessions/abc',
      iat: NOW / 1000,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
  });

  it('never publishes private members, and every proof has its own jti', async () => {
    const key = await proofKey();
    const leaky: ProofKey = { ...key, publicJwk: { ...key.publicJwk, d: 'secret', ext: true } };
    const jtis = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      const proof = await createDpopProof(
        leaky,
        'POST',
        'https://tacit.example/v1/device/revoke',
        NOW,
      );
      expect(Object.keys(decodeProtectedHeader(proof).jwk ?? {}).sort()).toEqual([
        'crv',
        'kty',
        'x',
        'y',
      ]);
      const { payload } = await jwtVerify(proof, EmbeddedJWK, { currentDate: new Date(NOW) });
      jtis.add(payload.jti);
    }
    expect(jtis.size).toBe(20);
  });
});
