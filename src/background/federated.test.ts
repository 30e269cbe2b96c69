// The background's federated check against an aggregator that speaks the wire formats of
// server/aggregator/http/contract.ts, with real keys: model versions signed by an aggregator key
// (ES256, tacit-model+jwt), uploads checked with the device's public key and parseUpdate. The
// worker is stood in for by a host that serialises a real TFLU update (its own tests run it).
import { SignJWT, calculateJwkThumbprint, compactVerify, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('webextension-polyfill', () => ({ default: {} }));
import { encoderDigest } from '../../model/federated/signed';
import { parseUpdate, quantise, serialiseUpdate } from '../../model/federated/update-format';
import { DEFAULT_CONFIG, type PinnedJwks, type TacitConfig } from '../shared/config';
import { EMPTY_FEDERATED_STATE, type FederatedState } from '../shared/federated-state';
import type { FederatedRoundSpec } from '../shared/protocol';
import { federatedCheck, type FederatedDeps } from './federated';
import type { ModelHost } from './model-host';

const AGG = 'http://127.0.0.1:8789';
const ENC_1 = '{"encoder":"version one"}';
const ENC_2 = '{"encoder":"version two"}';
// Each version's public centres (the worker parses them; the background checks their digest).
const CEN_1 = '{"centres":"of version one"}';
const CEN_2 = '{"centres":"of version two"}';
const ENC_ID = 'keystroke:test:1';
const P = 300;

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let aggKey: KeyPair;
let rogueKey: KeyPair;
let pinned: PinnedJwks;
let device: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string };

beforeAll(async () => {
  aggKey = await generateKeyPair('ES256');
  rogueKey = await generateKeyPair('ES256');
  const jwk = await exportJWK(aggKey.publicKey);
  pinned = {
    keys: [{ kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y!, kid: 'agg-1', alg: 'ES256' }],
  };
  const pair = await generateKeyPair('ES256');
  device = {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    kid: await calculateJwkThumbprint(await exportJWK(pair.publicKey)),
  };
});

type Served = { token: string; encoder: string; centres: string };

async function version(
  ver: number,
  encoder: string,
  opts: { key?: CryptoKey; digestOf?: string; centresDigest?: string | null } = {},
): Promise<Served> {
  const centres = ver === 1 ? CEN_1 : CEN_2;
  const centresDigest =
    opts.centresDigest === undefined ? await encoderDigest(centres) : opts.centresDigest;
  const token = await new SignJWT({
    ver,
    enc: ENC_ID,
    digest: await encoderDigest(opts.digestOf ?? encoder),
    ...(centresDigest === null ? {} : { centresDigest }),
    round: ver === 1 ? null : ver - 1,
    contributors: ver === 1 ? 0 : 100,
    privacy: { epsilon: 0.5 * (ver - 1), delta: 1e-5 },
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'tacit-model+jwt', kid: 'agg-1' })
    .setIssuer(AGG)
    .setIssuedAt()
    .sign(opts.key ?? aggKey.privateKey);
  return { token, encoder, centres };
}

/** The aggregator's side of the wire: what it serves and what reached it. */
function aggregator(init: { current: Served; round: number | null }) {
  const s = { ...init, requests: [] as string[], uploads: [] as string[] };
  const fetch = vi.fn(async (url: string | URL | Request, req: RequestInit = {}) => {
    const path = String(url).slice(AGG.length);
    s.requests.push(`${req.method ?? 'GET'} ${path}`);
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    if (path === '/v1/models/current') return json(s.current);
    if (path === '/v1/rounds/current') {
      if (s.round === null)
        return json({ error: { code: 'ERR_NO_OPEN_ROUND', message: 'no round is open' } }, 409);
      return json({
        round: s.round,
        status: 'open',
        baseVersion: 1,
        encoderId: ENC_ID,
        parameters: P,
        minDevices: 100,
        clipNorm: 1,
        noiseMultiplier: 1,
        samplingRate: 1,
        normBound: 3,
        received: s.uploads.length,
      });
    }
    if (path === '/v1/updates' && req.method === 'POST') {
      s.uploads.push((JSON.parse(String(req.body)) as { update: string }).update);
      return json({ round: s.round, received: s.uploads.length }, 201);
    }
    return json({ error: { code: 'ERR_NOT_FOUND' } }, 404);
  });
  return { s, fetch: fetch as unknown as typeof globalThis.fetch };
}

/** A host whose round gives real TFLU bytes for the spec; adoption recorded. */
function host() {
  const federatedUpdate = vi.fn(async (spec: FederatedRoundSpec) => {
    const delta = new Float32Array(spec.parameters).map((_, i) => Math.sin(i) / 100);
    const bytes = serialiseUpdate(
      quantise(delta, { encoderId: spec.encoderId, round: spec.round }, Math.random),
    );
    return {
      ok: true as const,
      update: Buffer.from(bytes).toString('base64url'),
      bytes: bytes.length,
      ms: 5,
    };
  });
  const adoptEncoder = vi.fn(
    async (
      _encoder: string,
      _ver: number,
      _enc: string,
      _centres: string,
    ): Promise<
      { ok: true; encoderId: string; refitted: number } | { ok: false; code: string }
    > => ({
      ok: true,
      encoderId: ENC_ID,
      refitted: 1,
    }),
  );
  return {
    federatedUpdate,
    adoptEncoder,
    api: { federatedUpdate, adoptEncoder } as unknown as ModelHost,
  };
}

function deps(
  config: Partial<TacitConfig>,
  net: ReturnType<typeof aggregator>,
  model: ReturnType<typeof host>,
  store: { state: FederatedState },
): FederatedDeps {
  return {
    config: async () => ({
      ...DEFAULT_CONFIG,
      aggregatorUrl: AGG,
      aggregatorJwks: pinned,
      ...config,
    }),
    host: () => model.api,
    signingKey: async () => ({ privateKey: device.privateKey, kid: device.kid }),
    state: {
      get: async () => structuredClone(store.state),
      set: async (state) => void (store.state = structuredClone(state)),
    },
    fetch: net.fetch,
    now: () => 1_000,
  };
}

describe('federated check: consent', () => {
  it('without "help improve the model", no round is asked for, nothing computed, nothing sent', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    const store = { state: EMPTY_FEDERATED_STATE };
    const d = deps({ modelImprovement: false }, net, model, store);
    expect(await federatedCheck(d)).toBe('adopted');
    expect(await federatedCheck(d)).toBe('consent-off');
    expect(model.federatedUpdate).not.toHaveBeenCalled();
    expect(net.s.requests.filter((r) => r !== 'GET /v1/models/current')).toEqual([]);
    expect(net.s.uploads).toEqual([]);
  });

  it('without an aggregator nothing is fetched; without pinned keys nothing is trusted', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(
      await federatedCheck(
        deps({ modelImprovement: true, aggregatorUrl: null }, net, model, store),
      ),
    ).toBe('no-aggregator');
    expect(
      await federatedCheck(
        deps({ modelImprovement: true, aggregatorJwks: null }, net, model, store),
      ),
    ).toBe('failed');
    expect(store.state.lastError).toEqual({ code: 'ERR_FL_CONFIG', at: 1_000 });
    expect(net.s.requests).toEqual([]);
    expect(model.federatedUpdate).not.toHaveBeenCalled();
  });
});

describe('federated check: one signed update per round', () => {
  it('sends exactly one update, signed by the device key, for the open round, never twice (restart included)', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'uploaded',
    );
    expect(net.s.uploads).toHaveLength(1);
    const { payload, protectedHeader } = await compactVerify(net.s.uploads[0]!, device.publicKey);
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'tacit-fl-update+jws', kid: device.kid });
    expect(
      parseUpdate(payload, { encoderId: ENC_ID, round: 4, parameters: P }).values,
    ).toHaveLength(P);
    expect(model.federatedUpdate).toHaveBeenCalledWith({
      round: 4,
      encoderId: ENC_ID,
      parameters: P,
      clipNorm: 1,
      noiseMultiplier: 1,
      minDevices: 100,
    });
    expect(store.state).toMatchObject({
      adoptedVersion: 1,
      sentRounds: [4],
      lastUpload: { round: 4, ms: 5, at: 1_000 },
      lastError: null,
    });

    // The same round again, and after a restart (a fresh check over the persisted state).
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'already-sent',
    );
    const model2 = host();
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model2, store))).toBe(
      'already-sent',
    );
    expect(net.s.uploads).toHaveLength(1);
    expect(model.federatedUpdate).toHaveBeenCalledTimes(1);
    expect(model2.federatedUpdate).not.toHaveBeenCalled();

    // The next round gets its own update; no open round, nothing.
    net.s.round = 5;
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'uploaded',
    );
    net.s.round = null;
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'no-open-round',
    );
    expect(net.s.uploads).toHaveLength(2);
    expect(store.state.sentRounds).toEqual([4, 5]);
  });

  it('a round that failed to compute is recorded by its code and nothing is sent', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    model.federatedUpdate.mockResolvedValueOnce({ ok: false, code: 'ERR_FL_NO_DATA' } as never);
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError).toEqual({ code: 'ERR_FL_NO_DATA', at: 1_000 });
    expect(store.state.sentRounds).toEqual([]);
    expect(net.s.uploads).toEqual([]);
  });
});

describe('federated check: signed model versions', () => {
  it('refuses a version not signed by a pinned key, a tampered encoder or centres and a downgrade, adopting none', async () => {
    const cases: [Promise<Served>, string][] = [
      [version(2, ENC_2, { key: rogueKey.privateKey }), 'ERR_MODEL_SIGNATURE'],
      [version(2, ENC_2, { digestOf: ENC_1 }), 'ERR_MODEL_DIGEST'],
      // Tampered centres (another version's): the device's negatives are signed too.
      [version(2, ENC_2).then((v) => ({ ...v, centres: CEN_1 })), 'ERR_MODEL_DIGEST'],
      // A token that does not sign any centres.
      [version(2, ENC_2, { centresDigest: null }), 'ERR_MODEL_CLAIMS'],
      [
        version(2, ENC_2).then((v) => ({ ...v, token: `${v.token.slice(0, -4)}AAAA` })),
        'ERR_MODEL_SIGNATURE',
      ],
    ];
    for (const [current, code] of cases) {
      const net = aggregator({ current: await current, round: 4 });
      const model = host();
      const store = { state: EMPTY_FEDERATED_STATE };
      expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
        'failed',
      );
      expect(store.state.lastError).toEqual({ code, at: 1_000 });
      expect(store.state.adoptedVersion).toBeNull();
      expect(model.adoptEncoder).not.toHaveBeenCalled();
      expect(net.s.uploads).toEqual([]);
    }
    const net = aggregator({ current: await version(1, ENC_1), round: null });
    const model = host();
    const store = { state: { ...EMPTY_FEDERATED_STATE, adoptedVersion: 3 } };
    expect(await federatedCheck(deps({}, net, model, store))).toBe('failed');
    expect(store.state.lastError?.code).toBe('ERR_MODEL_DOWNGRADE');
    expect(model.adoptEncoder).not.toHaveBeenCalled();
  });

  it('adopts a newer verified version: the worker gets its encoder (and rebuilds), once', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: null });
    const model = host();
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({}, net, model, store))).toBe('adopted');
    net.s.current = await version(2, ENC_2);
    expect(await federatedCheck(deps({}, net, model, store))).toBe('adopted');
    expect(await federatedCheck(deps({}, net, model, store))).toBe('consent-off');
    // Each with the signed `enc` claim, which the worker compares with the encoder it loads.
    expect(model.adoptEncoder.mock.calls).toEqual([
      [ENC_1, 1, ENC_ID, CEN_1],
      [ENC_2, 2, ENC_ID, CEN_2],
    ]);
    expect(store.state.adoptedVersion).toBe(2);
    // A round opened from version 1 is not trained by a device on version 2.
    net.s.round = 6;
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError?.code).toBe('ERR_FL_ENCODER');
    expect(model.federatedUpdate).not.toHaveBeenCalled();
  });

  it("a version whose centres the worker refuses (not its encoder's) is not adopted, nothing sent", async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    model.adoptEncoder.mockResolvedValueOnce({ ok: false, code: 'ERR_MODEL_CENTRES' });
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError).toEqual({ code: 'ERR_MODEL_CENTRES', at: 1_000 });
    expect(store.state.adoptedVersion).toBeNull();
    expect(model.federatedUpdate).not.toHaveBeenCalled();
    expect(net.s.uploads).toEqual([]);
  });

  it('a version whose encoder is not the one its signed enc claim names is not adopted', async () => {
    const net = aggregator({ current: await version(1, ENC_1), round: 4 });
    const model = host();
    model.adoptEncoder.mockResolvedValueOnce({ ok: false, code: 'ERR_MODEL_ENCODER' });
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError).toEqual({ code: 'ERR_MODEL_ENCODER', at: 1_000 });
    expect(store.state.adoptedVersion).toBeNull();
    expect(model.federatedUpdate).not.toHaveBeenCalled();
    expect(net.s.uploads).toEqual([]);
  });

  it('a version without public centres (an aggregator older than the contract) is refused as such, not as a network failure', async () => {
    const { centres: _dropped, ...old } = await version(2, ENC_2, { centresDigest: null });
    const net = aggregator({ current: old as Served, round: 4 });
    const model = host();
    const store = { state: EMPTY_FEDERATED_STATE };
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError).toEqual({ code: 'ERR_MODEL_NO_CENTRES', at: 1_000 });
    expect(store.state.adoptedVersion).toBeNull();
    expect(model.adoptEncoder).not.toHaveBeenCalled();
    expect(net.s.requests).toEqual(['GET /v1/models/current']);
    // Something else that is not a version (no token) is still the network's.
    net.s.current = { encoder: ENC_2 } as Served;
    expect(await federatedCheck(deps({ modelImprovement: true }, net, model, store))).toBe(
      'failed',
    );
    expect(store.state.lastError?.code).toBe('ERR_FL_NETWORK');
  });
});
