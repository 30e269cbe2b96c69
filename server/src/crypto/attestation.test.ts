/**
 * The statements of enrolled devices are verified with node:crypto and a cached key (the hot
 * path, see attestation.ts): what jose's `jwtVerify` refused must still be refused, with the
 * same codes, and the cache must never outlive a revocation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attest,
  boundSession,
  createHarness,
  expectError,
  nowS,
  revoke,
  snapshot,
  type Answer,
  type BoundSession,
  type Harness,
} from '../testing/harness';

let h: Harness;
let s: BoundSession;

beforeEach(async () => {
  h = await createHarness();
  s = await boundSession(h);
  expect((await attest(h, s.device, { sid: s.sid, seq: 1 })).status).toBe(202);
});
afterEach(async () => {
  await h.close();
});

const post = (attestation: string) => h.call('POST', '/v1/attestations', { json: { attestation } });

async function rejects(send: () => Promise<Answer>, status: number, code: string) {
  const before = await snapshot(h, s.sid);
  expectError(await send(), status, code);
  expect(await snapshot(h, s.sid)).toEqual(before);
}

/** Attestation seq 2 of the bound device, header and claims patched. */
function signed(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return s.device.sign(
    { typ: 'tacit-att+jwt', kid: s.device.jkt, ...header },
    {
      sid: s.sid,
      seq: 2,
      iat: nowS(h),
      state: 'scoring',
      conf: 0.5,
      progress: 1,
      mv: 'm',
      n: { k: 1, p: 1 },
      prev: '',
      ...claims,
    },
  );
}

describe('device statement verification', () => {
  it('a critical header extension is refused (none is understood) → ERR_JWS_INVALID', async () => {
    // jose will not sign these: built by hand, signed with the device's key (WebCrypto's ECDSA
    // signature is r‖s, as JWS wants it).
    const prev = (await h.store.getSession(s.sid))!.lastHash;
    const claims = {
      ...{ sid: s.sid, seq: 2, iat: nowS(h), state: 'enrolling', conf: null, progress: 0.5 },
      ...{ mv: 'm', n: { k: 1, p: 1 }, prev },
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const handSigned = async (extra: Record<string, unknown>) => {
      const header = { alg: 'ES256', typ: 'tacit-att+jwt', kid: s.device.jkt, ...extra };
      const input = `${b64(header)}.${b64(claims)}`;
      const signature = await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        s.device.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${Buffer.from(signature).toString('base64url')}`;
    };
    for (const crit of [['exp'], ['b64'], [], 'b64']) {
      const jws = await handSigned({ crit, b64: true, exp: 1 });
      await rejects(() => post(jws), 400, 'ERR_JWS_INVALID');
    }
    // The same statement without `crit` is accepted: the refusals above are about `crit`.
    expect((await post(await handSigned({ b64: true, exp: 1 }))).status).toBe(202);
  });

  it('exp and nbf, when present, are checked as jose did: ERR_STALE, or ERR_JWS_CLAIMS', async () => {
    const now = nowS(h);
    for (const time of [{ exp: now - 61 }, { exp: 0 }, { nbf: now + 61 }]) {
      await rejects(async () => post(await signed(time)), 400, 'ERR_STALE');
    }
    for (const time of [{ exp: String(now + 600) }, { nbf: null }, { exp: {} }]) {
      await rejects(async () => post(await signed(time)), 400, 'ERR_JWS_CLAIMS');
    }
  });

  it('exp and nbf within the tolerance are accepted', async () => {
    const now = nowS(h);
    const prev = (await h.store.getSession(s.sid))!.lastHash;
    const jws = await signed({ exp: now - 59, nbf: now + 59, prev });
    expect((await post(jws)).status).toBe(202);
  });

  it('a signature segment that is not exactly 64 base64url bytes → ERR_JWS_INVALID', async () => {
    const [header, payload, signature] = (await signed()).split('.') as [string, string, string];
    for (const bad of [
      signature.slice(0, 85),
      `${signature}A`,
      `${signature}==`,
      `${signature.slice(0, 85)}+`,
      `${signature.slice(0, 85)}/`,
      Buffer.from(signature, 'base64url').toString('base64'), // standard alphabet, padded
      'A'.repeat(86), // right size, r = s = 0
    ]) {
      if (bad === signature) continue;
      await rejects(() => post(`${header}.${payload}.${bad}`), 400, 'ERR_JWS_INVALID');
    }
  });

  it('header and payload segments must be base64url → ERR_JWS_INVALID', async () => {
    const [header, payload, signature] = (await signed()).split('.') as [string, string, string];
    for (const jws of [
      `${header}=.${payload}.${signature}`,
      `${header}.${payload}=.${signature}`,
      `${header}.${payload.replace(/-/g, '+').replace(/_/g, '/')}+.${signature}`,
      `${header}. ${payload}.${signature}`,
    ]) {
      await rejects(() => post(jws), 400, 'ERR_JWS_INVALID');
    }
  });

  it('a key already used (and cached) is refused once the device is revoked', async () => {
    const second = await attest(h, s.device, { sid: s.sid, seq: 2 });
    expect(second.status).toBe(202);
    expect((await revoke(h, s.device.jkt)).status).toBe(200);
    await rejects(
      async () => post(await s.device.attestation({ sid: s.sid, seq: 3 })),
      403,
      'ERR_DEVICE_REVOKED',
    );
  });

  it('another device cannot use a cached key by naming its kid (forged signature)', async () => {
    const other = await boundSession(h, 'bob');
    // The other device signs with its own key but names the first device's kid.
    const forged = await other.device.sign(
      { typ: 'tacit-att+jwt', kid: s.device.jkt },
      {
        sid: s.sid,
        seq: 2,
        iat: nowS(h),
        state: 'scoring',
        conf: 0.5,
        progress: 1,
        mv: 'm',
        n: { k: 1, p: 1 },
        prev: (await h.store.getSession(s.sid))!.lastHash,
      },
    );
    await rejects(() => post(forged), 400, 'ERR_JWS_INVALID');
  });
});
