import {
  SignJWT,
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { SignedModelError } from '../errors';
import {
  MODEL_JWT_TYP,
  UPDATE_JWS_TYP,
  encoderDigest,
  signUpdate,
  verifyModelVersion,
  type ModelVersionClaims,
} from './signed';

const ENCODER = JSON.stringify({ format: 'tacit-shared-encoder', weights: 'AAAA' });
const CENTRES = JSON.stringify({ format: 'tacit-public-centres', centres: 'AAAA' });
const NOW = new Date('2026-12-07T09:00:00Z');

let aggregator: Awaited<ReturnType<typeof generateKeyPair>>;
let jwks: JSONWebKeySet;

beforeAll(async () => {
  aggregator = await generateKeyPair('ES256');
  jwks = { keys: [{ ...(await exportJWK(aggregator.publicKey)), kid: 'agg-1', alg: 'ES256' }] };
});

async function claims(over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    iss: 'http://aggregator.test',
    iat: Math.floor(NOW.getTime() / 1000),
    ver: 3,
    enc: 'keystroke:task+fl3:2026-12-07:90:48',
    digest: await encoderDigest(ENCODER),
    centresDigest: await encoderDigest(CENTRES),
    round: 2,
    contributors: 120,
    privacy: { epsilon: 2.5, delta: 1e-5 },
    evaluation: { eer: 0.09 },
    ...over,
  };
}

async function token(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key = aggregator.privateKey,
) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: MODEL_JWT_TYP, kid: 'agg-1', ...header })
    .sign(key);
}

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SignedModelError);
  return (err as SignedModelError).code;
}

describe('signUpdate', () => {
  it('signs the bytes with the device key, its kid and typ, ES256', async () => {
    const device = await generateKeyPair('ES256', { extractable: false });
    const jwk = await exportJWK(device.publicKey);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const bytes = Uint8Array.from([0x54, 0x46, 0x4c, 0x55, 1, 2, 3, 250]);
    const jws = await signUpdate(bytes, { privateKey: device.privateKey, kid });
    expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', typ: UPDATE_JWS_TYP, kid });
    const { payload } = await compactVerify(jws, device.publicKey, { algorithms: ['ES256'] });
    expect([...payload]).toEqual([...bytes]);
  });
});

describe('verifyModelVersion', () => {
  it('accepts a version signed by a pinned key and returns its claims', async () => {
    const signed = { token: await token(await claims()), encoder: ENCODER, centres: CENTRES };
    const got: ModelVersionClaims = await verifyModelVersion(signed, jwks, {
      issuer: 'http://aggregator.test',
      minVersion: 3,
      currentDate: NOW,
    });
    expect(got.ver).toBe(3);
    expect(got.contributors).toBe(120);
  });

  it('refuses a bad signature, another key, alg or typ with ERR_MODEL_SIGNATURE', async () => {
    const other = await generateKeyPair('ES256');
    const good = await token(await claims());
    const [h, p, sig] = good.split('.');
    const flipped = `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BA' : 'AA'}`;
    const cases = [
      flipped,
      await token(await claims(), {}, other.privateKey),
      await token(await claims(), { typ: 'JWT' }),
      await token(await claims(), { kid: 'unknown' }),
      `${h}.${p}.`,
      await new SignJWT(await claims())
        .setProtectedHeader({ alg: 'HS256', typ: MODEL_JWT_TYP, kid: 'agg-1' })
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!')),
      'not a token',
    ];
    for (const t of cases) {
      expect(
        await refused(verifyModelVersion({ token: t, encoder: ENCODER, centres: CENTRES }, jwks)),
      ).toBe('ERR_MODEL_SIGNATURE');
    }
    // Pinned issuer.
    expect(
      await refused(
        verifyModelVersion({ token: good, encoder: ENCODER, centres: CENTRES }, jwks, {
          issuer: 'http://evil',
        }),
      ),
    ).toBe('ERR_MODEL_SIGNATURE');
  });

  it('refuses an encoder or centres other than the signed ones with ERR_MODEL_DIGEST', async () => {
    const t = await token(await claims());
    for (const signed of [
      { token: t, encoder: `${ENCODER} `, centres: CENTRES },
      // Tampered centres: another public user's centre would change the device's negatives.
      { token: t, encoder: ENCODER, centres: CENTRES.replace('AAAA', 'AAAB') },
      { token: t, encoder: ENCODER, centres: ENCODER },
      { token: t, encoder: ENCODER } as unknown as {
        token: string;
        encoder: string;
        centres: string;
      },
    ]) {
      expect(await refused(verifyModelVersion(signed, jwks))).toBe('ERR_MODEL_DIGEST');
    }
  });

  it('refuses malformed claims with ERR_MODEL_CLAIMS', async () => {
    for (const over of [
      { ver: 0 },
      { digest: 'short' },
      { centresDigest: undefined },
      { centresDigest: 'short' },
      { centresDigest: 42 },
      { enc: '' },
      { round: -1 },
      { contributors: 1.5 },
      { privacy: { epsilon: -1, delta: 1e-5 } },
      { privacy: undefined },
      { evaluation: { eer: 'low' } },
      { rollbackOf: 0 },
    ]) {
      const signed = { token: await token(await claims(over)), encoder: ENCODER, centres: CENTRES };
      expect(await refused(verifyModelVersion(signed, jwks)), JSON.stringify(over)).toBe(
        'ERR_MODEL_CLAIMS',
      );
    }
  });

  it('refuses a version older than the current one with ERR_MODEL_DOWNGRADE', async () => {
    const signed = {
      token: await token(await claims({ ver: 2 })),
      encoder: ENCODER,
      centres: CENTRES,
    };
    expect(await refused(verifyModelVersion(signed, jwks, { minVersion: 3 }))).toBe(
      'ERR_MODEL_DOWNGRADE',
    );
  });
});
